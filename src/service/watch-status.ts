// The watcher's pid file, `data/watch.json`: one watcher per host, and what it is doing for `bt watch --status`.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as t from 'io-ts';
import { IsoTime, NonNegInt, decodeWith } from '../core/decode.js';
import { BtError } from '../core/errors.js';
import { tryProcessLock } from '../core/process-lock.js';
import { processAlive } from './host-lock.js';
import { releaseOnExit } from '../core/release-on-exit.js';

export const WatchState = t.keyof({ starting: null, idle: null, reconciling: null, staging: null, 'backing up': null, waiting: null, retrying: null, stopping: null });
export type WatchState = t.TypeOf<typeof WatchState>;

const OptionalTime = t.union([IsoTime, t.null]);

export const WatchStatus = t.type({
  pid: NonNegInt,
  host_id: t.string,
  since: IsoTime,
  updated_at: IsoTime,
  state: WatchState,
  settle_ms: NonNegInt,
  poll: t.boolean,
  directories: t.array(t.string),
  pending: NonNegInt,
  last_change_at: OptionalTime,
  last_backup_at: OptionalTime,
  last_backup_files: NonNegInt,
});
export type WatchStatus = t.TypeOf<typeof WatchStatus>;

export type WatcherReport =
  | { readonly running: true; readonly status: WatchStatus }
  /** No watcher; `stale` is what a watcher that died without cleaning up left behind. */
  | { readonly running: false; readonly stale?: WatchStatus };

export const watchFile = (dataDir: string): string => `${dataDir}/watch.json`;


function readStatus(file: string): WatchStatus | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    const decoded = decodeWith(WatchStatus, JSON.parse(text));
    return decoded.ok ? decoded.value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a watcher runs for this host: the file names a live pid. */
export function readWatcher(dataDir: string): WatcherReport {
  const status = readStatus(watchFile(dataDir));
  if (!status) return { running: false };
  return processAlive(status.pid) ? { running: true, status } : { running: false, stale: status };
}

/** The pid file this process holds: rewritten atomically as the watcher works, removed on every exit path. */
export interface WatcherLock {
  update(status: WatchStatus): void;
  release(): void;
}

/**
 * Takes the watcher lock for `status.pid` (this process): a process lock on `watch.lock.db`, held until
 * release or exit, so two watchers can never both start (a pid file broken when its pid looked dead let
 * two in when they started together). The status file beside it is what `--status` reads. Refuses while
 * another watcher runs.
 */
export function acquireWatcherLock(dataDir: string, status: WatchStatus): WatcherLock {
  const file = watchFile(dataDir);
  const lock = tryProcessLock(`${dataDir}/watch.lock.db`);
  if (!lock) {
    const holder = readStatus(file);
    throw new BtError(
      'busy',
      `a watcher is already running for this host${holder ? ` (pid ${holder.pid}, since ${holder.since})` : ''}`,
      holder ? `stop it first (kill ${holder.pid}), or see \`bt watch --status\`` : 'stop it first, or see `bt watch --status`',
    );
  }
  const tmp = `${file}.${process.pid}.tmp`;
  // Rename replaces the file in one step: a reader sees the old status or the new one, never half of one.
  const write = (next: WatchStatus): void => {
    writeFileSync(tmp, JSON.stringify(next), { mode: 0o600 });
    renameSync(tmp, file);
  };
  write(status);
  const label = releaseOnExit(file, () => readStatus(file)?.pid === process.pid);
  return {
    update(next) {
      if (label.held()) write(next);
    },
    release() {
      label.release();
      lock.release();
    },
  };
}
