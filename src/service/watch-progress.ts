// What the watcher is doing and has done, written to its status file (`bt watch --status`) as it changes.
import { describeError } from '../core/errors.js';
import { isoTime } from '../core/ids.js';
import type { WatchLog } from './watch-log.js';
import type { WatchState, WatchStatus, WatcherLock } from './watch-status.js';

/** What stays the same for the whole run. */
export interface WatchRun {
  readonly hostId: string;
  readonly since: string;
  readonly settleMs: number;
  readonly poll: boolean;
}

/** What the rest of the watcher knows at the moment of writing. */
export type WatchLoad = Pick<WatchStatus, 'directories' | 'pending'>;

export class WatchProgress {
  private state: WatchState = 'starting';
  private lastChangeAt: string | null = null;
  private lastBackupAt: string | null = null;
  private lastBackupFiles = 0;

  constructor(
    private readonly lock: WatcherLock,
    private readonly log: WatchLog,
    private readonly run: WatchRun,
    private readonly load: () => WatchLoad,
  ) {}

  /** Records the state, and writes the status file when it changed. */
  setState(state: WatchState): void {
    if (this.state === state) return;
    this.state = state;
    this.write();
  }

  /** Something was staged or deleted at `at` (written with the next status). */
  changed(at: number): void {
    this.lastChangeAt = isoTime(at);
  }

  /** A backup of `files` file(s) ended at `at` (written with the next status). */
  backedUp(at: number, files: number): void {
    this.lastBackupAt = isoTime(at);
    this.lastBackupFiles = files;
  }

  write(): void {
    const { directories, pending } = this.load();
    const status: WatchStatus = {
      pid: process.pid,
      host_id: this.run.hostId,
      since: this.run.since,
      updated_at: isoTime(Date.now()),
      state: this.state,
      settle_ms: this.run.settleMs,
      poll: this.run.poll,
      directories,
      pending,
      last_change_at: this.lastChangeAt,
      last_backup_at: this.lastBackupAt,
      last_backup_files: this.lastBackupFiles,
    };
    try {
      this.lock.update(status);
    } catch (err) {
      this.log.line(`could not write the status file: ${describeError(err)}`);
    }
  }
}
