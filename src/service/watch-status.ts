// The watcher's pid file, `data/watch.json`: one watcher per host, and what it is doing for `bt watch --status`.
import { linkSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as t from 'io-ts';
import { IsoTime, NonNegInt, decodeWith } from '../core/decode.js';
import { BtError, errnoCode } from '../core/errors.js';
import { processAlive } from './host-lock.js';
import { releaseOnExit } from '../core/release-on-exit.js';

export const WatchState = t.keyof({ starting: null, idle: null, reconciling: null, staging: null, 'backing up': null, waiting: null, stopping: null });
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
 * Takes the watcher lock for `status.pid` (this process). The file is linked into place complete, so a
 * second watcher never reads it half-written; one left by a dead watcher is broken. Refuses while another
 * watcher is alive.
 */
export function acquireWatcherLock(dataDir: string, status: WatchStatus): WatcherLock {
  const file = watchFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(status), { mode: 0o600 });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(tmp, file);
        break;
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
      const holder = readStatus(file);
      if (holder && processAlive(holder.pid) && holder.pid !== process.pid) {
        throw new BtError(
          'busy',
          `a watcher is already running for this host (pid ${holder.pid}, since ${holder.since})`,
          `stop it first (kill ${holder.pid}), or see \`bt watch --status\``,
        );
      }
      if (attempt >= 3) throw new BtError('busy', `cannot take ${file}: another watcher keeps replacing it`, 'try again');
      // Dead holder (or unreadable file): move it aside atomically, then race for a fresh one.
      try {
        renameSync(file, `${file}.stale-${process.pid}`);
        rmSync(`${file}.stale-${process.pid}`, { force: true });
      } catch {
        /* another process broke it first */
      }
    }
  } finally {
    rmSync(tmp, { force: true });
  }

  const { release, held } = releaseOnExit(file, () => readStatus(file)?.pid === process.pid);
  return {
    update(next) {
      if (!held()) return;
      // Rename replaces the file in one step: a reader (or a second watcher) sees the old or the new one.
      writeFileSync(tmp, JSON.stringify(next), { mode: 0o600 });
      renameSync(tmp, file);
    },
    release,
  };
}
