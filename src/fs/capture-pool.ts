// Runs file captures on worker threads, in batches, so reading, hashing and writing staged copies use
// the other core while the main thread walks the tree and appends events.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type CaptureJob, type CaptureResult, captureFile } from './capture.js';

interface Pending {
  readonly resolve: (results: CaptureResult[]) => void;
  readonly reject: (err: unknown) => void;
}

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

/** Worker script beside this module: .ts when running from source (tests), .js in the bundle. */
const workerUrl = (): URL => new URL(import.meta.url.endsWith('.ts') ? './capture-worker.ts' : './capture-worker.js', import.meta.url);

export class CapturePool {
  private workers: Worker[] = [];
  private next = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly size = Number(process.env.BT_CAPTURE_WORKERS ?? Math.max(1, Math.min(2, availableParallelism())))) {}

  /**
   * Captures a batch; small batches before any worker exists run inline (a worker costs ~40 ms to start). A
   * batch with large files goes to the workers (split over them by bytes when it holds several): reading,
   * chunking and hashing them is the CPU-bound part of `bt add`, and one worker per large file keeps every
   * core busy.
   */
  async run(jobs: readonly CaptureJob[]): Promise<CaptureResult[]> {
    const bytes = jobs.reduce((n, j) => n + Number(j.seen?.size ?? 0n), 0);
    const spread = jobs.length > 1 && bytes >= SPREAD_BYTES;
    if (this.size === 0 || (this.workers.length === 0 && jobs.length < 16 && bytes < SPREAD_BYTES)) return jobs.map(captureFile);
    if (this.workers.length === 0) this.start();
    if (!spread || this.workers.length === 1) return this.send(jobs);
    const groups = splitByBytes(jobs, this.workers.length);
    const results = await Promise.all(groups.map((g) => this.send(g.map((i) => jobs[i]!))));
    const out: CaptureResult[] = new Array<CaptureResult>(jobs.length);
    for (const [k, g] of groups.entries()) for (const [j, i] of g.entries()) out[i] = results[k]![j]!;
    return out;
  }

  private send(jobs: readonly CaptureJob[]): Promise<CaptureResult[]> {
    const worker = this.workers[this.next++ % this.workers.length]!;
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, jobs });
    });
  }

  private start(): void {
    for (let i = 0; i < this.size; i++) {
      // A small young generation: each worker's semi-spaces would otherwise add tens of MiB of RSS.
      const worker = new Worker(workerUrl(), { resourceLimits: { maxYoungGenerationSizeMb: 8 } });
      worker.on('message', (msg: { id: number; results: CaptureResult[] }) => {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg.results);
      });
      worker.on('error', (err) => {
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      });
      this.workers.push(worker);
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
