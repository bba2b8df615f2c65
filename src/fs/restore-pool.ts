// Restores small files on worker threads: per-file syscalls (read, hash, write, chown, chmod, utimes,
// rename) decide the speed of a tree of small files, and two cores do them twice as fast as one.
import { WorkerPool, workerCount, workerScript } from '../core/worker-pool.js';
import { type SmallRestoreJob, type SmallRestoreOutcome, restoreSmallObject } from './restore-file.js';

/** Files per message: enough to amortise a round trip, few enough to keep both workers busy. */
const JOBS_PER_MESSAGE = 64;
/** Fewer files than this are restored on this thread: a worker costs ~40 ms to start. */
const WORTH_A_WORKER = 256;

export class RestorePool {
  private readonly pool = new WorkerPool<SmallRestoreJob, SmallRestoreOutcome>(
    workerScript(import.meta.url, 'restore-worker'),
    workerCount('BT_RESTORE_WORKERS'),
  );

  async run(jobs: readonly SmallRestoreJob[]): Promise<SmallRestoreOutcome[]> {
    if (this.pool.size === 0 || (!this.pool.started && jobs.length < WORTH_A_WORKER)) return jobs.map(restoreSmallObject);
    const batches: Promise<SmallRestoreOutcome[]>[] = [];
    for (let i = 0; i < jobs.length; i += JOBS_PER_MESSAGE) batches.push(this.pool.send(jobs.slice(i, i + JOBS_PER_MESSAGE)));
    return (await Promise.all(batches)).flat();
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}
