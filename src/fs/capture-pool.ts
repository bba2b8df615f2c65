// Runs file captures on worker threads, in batches, so reading, hashing and writing staged copies use
// the other core while the main thread walks the tree and appends events.
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { type CaptureJob, type CaptureResult, captureFile } from './capture.js';

interface Pending {
  readonly resolve: (results: CaptureResult[]) => void;
  readonly reject: (err: unknown) => void;
}

/** Worker script beside this module: .ts when running from source (tests), .js in the bundle. */
const workerUrl = (): URL => new URL(import.meta.url.endsWith('.ts') ? './capture-worker.ts' : './capture-worker.js', import.meta.url);

export class CapturePool {
  private workers: Worker[] = [];
  private next = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending>();

  constructor(private readonly size = Number(process.env.BT_CAPTURE_WORKERS ?? Math.max(1, Math.min(2, availableParallelism())))) {}

  /** Captures a batch; small batches before any worker exists run inline (a worker costs ~40 ms to start). */
  run(jobs: readonly CaptureJob[]): Promise<CaptureResult[]> {
    if (this.size === 0 || (this.workers.length === 0 && jobs.length < 16)) return Promise.resolve(jobs.map(captureFile));
    if (this.workers.length === 0) this.start();
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
