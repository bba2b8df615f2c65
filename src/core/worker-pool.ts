// A few worker threads that each run batches of synchronous jobs: file work where blocking syscalls on
// another core beat thread-pool round trips on this one (capture in `bt add`, small files in restore).
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { workerThreads } from './lazy-builtin.js';

interface Pending<R> {
  readonly resolve: (results: R[]) => void;
  readonly reject: (err: unknown) => void;
}

interface Request<J> {
  readonly id: number;
  readonly jobs: readonly J[];
}

export class WorkerPool<J, R> {
  private workers: Worker[] = [];
  private next = 0;
  private seq = 0;
  private readonly pending = new Map<number, Pending<R>>();
  private broken: { err: unknown } | undefined;
  private closing = false;

  /** `script` serves jobs with `serveJobs`; workers start on the first batch sent. */
  constructor(
    private readonly script: URL,
    readonly size: number,
  ) {}

  get started(): boolean {
    return this.workers.length > 0;
  }

  /** Runs a batch on the next worker in turn; the results come back in job order. */
  send(jobs: readonly J[]): Promise<R[]> {
    // A worker that died would never answer: every later batch fails with what killed it.
    if (this.broken) return Promise.reject(this.broken.err);
    if (this.workers.length === 0) this.start();
    const worker = this.workers[this.next++ % this.workers.length]!;
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      worker.postMessage({ id, jobs } satisfies Request<J>);
    });
  }

  private start(): void {
    for (let i = 0; i < Math.max(1, this.size); i++) {
      // A small young generation: a worker keeps little between messages, and each worker's semi-spaces
      // would otherwise add tens of MiB of RSS (2 MiB instead of 8 took 15 MiB off a tree restore, same CPU).
      const worker = new (workerThreads().Worker)(this.script, { resourceLimits: { maxYoungGenerationSizeMb: 2 } });
      worker.on('message', (msg: { id: number; results: R[] }) => {
        const p = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        p?.resolve(msg.results);
      });
      const fail = (err: unknown): void => {
        this.broken ??= { err };
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
      };
      worker.on('error', fail);
      worker.on('exit', (code) => {
        if (!this.closing) fail(new Error(`a worker thread stopped (exit code ${code})`));
      });
      this.workers.push(worker);
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}

/** The worker's side: answers each batch with the results of `handle`, in order. */
export function serveJobs<J, R>(handle: (job: J) => R): void {
  const { parentPort } = workerThreads();
  parentPort?.on('message', (req: Request<J>) => {
    parentPort?.postMessage({ id: req.id, results: req.jobs.map(handle) });
  });
}

/** A worker script beside the calling module: .ts when running from source (tests), .js in the bundle. */
export const workerScript = (base: string, name: string): URL => new URL(`./${name}${base.endsWith('.ts') ? '.ts' : '.js'}`, base);

/**
 * How many workers: the environment variable `name` when it is a whole number (0: none, all on this
 * thread; tests and measurements), else one per core, at most two (ADR 0013).
 */
export function workerCount(name: string): number {
  const raw = process.env[name];
  if (raw !== undefined && /^\d{1,2}$/.test(raw)) return Number(raw);
  return Math.max(1, Math.min(2, availableParallelism()));
}
