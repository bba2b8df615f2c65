// Runs file captures on worker threads, in batches, so reading, hashing and writing staged copies use
// the other core while the main thread walks the tree and appends events.
import { WorkerPool, workerCount, workerScript } from '../core/worker-pool.js';
import { type CaptureJob, type CaptureResult, captureFile } from './capture.js';

/** A batch of at least this many bytes (and more than one file) is split over the workers. */
const SPREAD_BYTES = 64 << 20;

/** Job indices in `parts` groups of about equal bytes (largest first, each to the lightest group); none empty. */
function splitByBytes(jobs: readonly CaptureJob[], parts: number): number[][] {
  const size = (i: number): number => Number(jobs[i]!.seen?.size ?? 0n);
  const order = jobs.map((_, i) => i).sort((a, b) => size(b) - size(a));
  const groups = Array.from({ length: Math.min(parts, jobs.length) }, () => ({ bytes: 0, jobs: [] as number[] }));
  for (const i of order) {
    const lightest = groups.reduce((a, b) => (b.bytes < a.bytes || (b.bytes === a.bytes && b.jobs.length < a.jobs.length) ? b : a));
    lightest.jobs.push(i);
    lightest.bytes += size(i);
  }
  return groups.map((g) => g.jobs.sort((a, b) => a - b));
}

export class CapturePool {
  private readonly pool: WorkerPool<CaptureJob, CaptureResult>;

  constructor(private readonly size = workerCount('BT_CAPTURE_WORKERS')) {
    this.pool = new WorkerPool(workerScript(import.meta.url, 'capture-worker'), size);
  }

  /**
   * Captures a batch; small batches before any worker exists run inline (a worker costs ~40 ms to start). A
   * batch with large files goes to the workers (split over them by bytes when it holds several): reading,
   * chunking and hashing them is the CPU-bound part of `bt add`, and one worker per large file keeps every
   * core busy.
   */
  async run(jobs: readonly CaptureJob[]): Promise<CaptureResult[]> {
    const bytes = jobs.reduce((n, j) => n + Number(j.seen?.size ?? 0n), 0);
    const spread = jobs.length > 1 && bytes >= SPREAD_BYTES;
    if (this.size === 0 || (!this.pool.started && jobs.length < 16 && bytes < SPREAD_BYTES)) return jobs.map(captureFile);
    if (!spread || this.size === 1) return this.pool.send(jobs);
    const groups = splitByBytes(jobs, this.size);
    const results = await Promise.all(groups.map((g) => this.pool.send(g.map((i) => jobs[i]!))));
    const out: CaptureResult[] = new Array<CaptureResult>(jobs.length);
    for (const [k, g] of groups.entries()) for (const [j, i] of g.entries()) out[i] = results[k]![j]!;
    return out;
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
