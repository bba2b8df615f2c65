// `bt watch`: stages and backs up changes as they happen; chokidar events settle, rescans catch what events miss.
import { type BigIntStats, lstatSync, statSync } from 'node:fs';
import type { FSWatcher } from 'chokidar';
import { BtError, describeError, errnoCode } from '../core/errors.js';
import { isoTime } from '../core/ids.js';
import { joinName } from '../fs/paths.js';
import { backup } from './backup.js';
import { Context, type Reporter } from './context.js';
import { btOwnPaths } from './own-paths.js';
import { type StageResult, stageFiles } from './stage-files.js';
import { WatchIgnore } from './watch-ignore.js';
import { type WatchLog, openWatchLog } from './watch-log.js';
import { ChangeQueue } from './watch-queue.js';
import { type WatchState, type WatchStatus, type WatcherLock, acquireWatcherLock } from './watch-status.js';

export interface WatchOptions {
  /** Overrides `watch.settle_ms`. */
  readonly settleMs?: number;
  /** Overrides `watch.backup_interval_minutes` (0: no periodic backup and rescan). */
  readonly intervalMinutes?: number;
  /** Overrides `watch.poll`: stat polling instead of native events (network filesystems). */
  readonly poll?: boolean;
  /** Aborted on SIGINT/SIGTERM: stop taking events, finish the step under way, return. */
  readonly signal: AbortSignal;
  /** Where each log line is echoed besides the log file (stderr). */
  readonly echo: (line: string) => void;
  /** How byte counts are written in the log (the commands' formatter; services do not format). */
  readonly formatBytes: (n: number) => string;
}

/** Pending paths at most; beyond this a directory's events are replaced by one rescan of it. */
const QUEUE_LIMIT = 10_000;
/** Tests lower the limit to reach the overflow path with a few hundred files. */
const queueLimit = (): number => {
  const n = Number(process.env.BT_WATCH_QUEUE_LIMIT);
  return Number.isSafeInteger(n) && n > 0 ? n : QUEUE_LIMIT;
};
/** How often the list of tracked directories is re-read (one small SELECT), to watch new ones. */
const DIRECTORY_POLL_MS = 2000;
/** How long one unit of work waits for the host lock before putting its work back for later. */
const LOCK_WAIT_MS = 2000;
const BUSY_RETRY_MS = 2000;
/** After a failed stage or backup (vault down, disk full), the same work is retried this much later. */
const FAILURE_RETRY_MS = 30_000;
/** More settled paths than this under one directory are staged by one scan of their common ancestor. */
const GROUP_LIMIT = 32;
/** Watcher errors of one directory are logged at most this often (the rescans still happen). */
const ERROR_LOG_EVERY_MS = 60_000;
/** Stat polling interval with --poll (chokidar's default of 100 ms costs too much on a large tree). */
const POLL_INTERVAL_MS = 1000;

type Chokidar = typeof import('chokidar');

interface RootWatch {
  readonly ignore: WatchIgnore;
  readonly watcher: FSWatcher;
}

/** Runs the watcher until `opts.signal` aborts. Refuses to start while another watcher runs for this host. */
export async function runWatcher(opts: WatchOptions): Promise<void> {
  let log: WatchLog | undefined;
  const reporter: Reporter = { notice: (message) => log?.line(message) };
  const ctx = Context.open(reporter);
  let lock: WatcherLock | undefined;
  try {
    const settleMs = opts.settleMs ?? ctx.config.watch.settle_ms;
    const poll = opts.poll ?? ctx.config.watch.poll;
    const intervalMinutes = opts.intervalMinutes ?? ctx.config.watch.backup_interval_minutes;
    const since = isoTime(Date.now());
    lock = acquireWatcherLock(ctx.config.database.data_dir, {
      pid: process.pid, host_id: ctx.config.host_id, since, updated_at: since, state: 'starting', settle_ms: settleMs, poll,
      directories: [], pending: 0, last_change_at: null, last_backup_at: null, last_backup_files: 0,
    });
    log = openWatchLog(ctx.config.log_dir, opts.echo);
    const chokidar = await import('chokidar');
    const settings = { settleMs, poll, intervalMs: intervalMinutes * 60_000, since, formatBytes: opts.formatBytes };
    const watcher = new Watcher(ctx, chokidar, log, lock, settings);
    await watcher.run(opts.signal);
  } finally {
    ctx.unlockHost();
    lock?.release();
    log?.close();
    ctx.close();
  }
}

interface Settings {
  readonly settleMs: number;
  readonly poll: boolean;
  readonly intervalMs: number;
  readonly since: string;
  readonly formatBytes: (n: number) => string;
}

class Watcher {
  private readonly queue: ChangeQueue;
  private readonly roots = new Map<string, RootWatch>();
  /** Tracked directories that are not there (unmounted, removed): not watched, never read as "all deleted". */
  private readonly missing = new Set<string>();
  /** Roots whose .btignore changed: their chokidar instance is rebuilt at the time given. */
  private readonly restarts = new Map<string, number>();
  private readonly closing = new Set<Promise<void>>();
  private readonly ownPaths: string[];
  private stopping = false;
  private state: WatchState = 'starting';
  /** Something was staged or deleted since the last backup (a deletion stages nothing but must be synced). */
  private dirty = false;
  private backupAt: number | undefined;
  private nextIntervalAt: number | undefined;
  private nextDirectoryPollAt = 0;
  private retryNotBefore = 0;
  private busySince: number | undefined;
  private lastChangeAt: string | null = null;
  private lastBackupAt: string | null = null;
  private lastBackupFiles = 0;
  private wakeAt: number | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly ctx: Context,
    private readonly chokidar: Chokidar,
    private readonly log: WatchLog,
    private readonly lock: WatcherLock,
    private readonly settings: Settings,
  ) {
    this.queue = new ChangeQueue({
      settleMs: settings.settleMs,
      maxWaitMs: Math.max(10 * settings.settleMs, 60_000),
      limit: queueLimit(),
    });
    this.ownPaths = btOwnPaths(ctx.config);
    if (settings.intervalMs > 0) this.nextIntervalAt = Date.now() + settings.intervalMs;
    // Versions left staged by an earlier run (or by `bt add`) are backed up first.
    if (ctx.store.queries.stagedCount() > 0) this.backupAt = Date.now();
  }

  async run(signal: AbortSignal): Promise<void> {
    const s = this.settings;
    const interval = s.intervalMs > 0 ? `backup at least every ${s.intervalMs / 60_000} min` : 'no periodic backup';
    this.log.line(`watcher started (pid ${process.pid}): settle ${s.settleMs} ms, ${interval}, ${s.poll ? 'polling' : 'native events'}`);
    const onAbort = (): void => this.stop(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    try {
      while (!this.stopping) {
        await this.cycle();
        if (this.stopping) break;
        this.setState(this.busySince !== undefined ? 'waiting' : 'idle');
        await this.sleep(this.nextWake());
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.stopping = true;
      for (const root of [...this.roots.keys()]) this.unwatch(root);
      await Promise.all([...this.closing]);
    }
    this.log.line('watcher stopped');
  }

  private stop(reason: unknown): void {
    if (this.stopping) return;
    this.stopping = true;
    const why = typeof reason === 'string' ? reason : 'stop requested';
    this.log.line(`stopping (${why}): no new events; finishing the step under way`);
    this.setState('stopping');
    // Stop taking events at once; the step under way finishes, the rest is found by the next start's rescan.
    for (const root of [...this.roots.keys()]) this.unwatch(root);
    this.wake?.();
  }

  // ---- scheduling ----------------------------------------------------------------------------------

  private nextWake(): number {
    let work = this.queue.nextDueAt();
    for (const at of [this.backupAt, this.nextIntervalAt]) if (at !== undefined) work = work === undefined ? at : Math.min(work, at);
    let next = this.nextDirectoryPollAt;
    if (work !== undefined) next = Math.min(next, Math.max(work, this.retryNotBefore));
    for (const at of this.restarts.values()) next = Math.min(next, at);
    return next;
  }

  private sleep(at: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.wake = undefined;
        this.wakeAt = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, Math.min(at - Date.now(), 2 ** 31 - 1)));
      this.wakeAt = at;
      this.wake = done;
    });
  }

  /** One pass: notice new and gone directories, then do what is due under the host lock, then release it. */
  private async cycle(): Promise<void> {
    const now = Date.now();
    if (now >= this.nextDirectoryPollAt) {
      this.syncRoots();
      this.nextDirectoryPollAt = now + DIRECTORY_POLL_MS;
    }
    for (const [root, at] of this.restarts) {
      if (at > now) continue;
      this.restarts.delete(root);
      this.log.line(`${root}: .btignore changed; watching it again with the new rules`);
      this.unwatch(root);
      this.watchRoot(root);
    }
    if (now < this.retryNotBefore) return;
    if (this.nextIntervalAt !== undefined && now >= this.nextIntervalAt) {
      // The safety net: events can be lost (libuv does not report an inotify queue overflow), a rescan is not.
      for (const root of this.roots.keys()) this.queue.rescan(root, now);
      this.backupAt = now;
      this.nextIntervalAt = now + this.settings.intervalMs;
    }
    const rescans = this.queue.takeRescans(now);
    const settled = this.queue.takeSettled(now);
    const backupDue = this.backupAt !== undefined && this.backupAt <= now;
    if (rescans.length === 0 && settled.size === 0 && !backupDue) return;

    try {
      await this.ctx.lockHost('watch', { waitMs: LOCK_WAIT_MS });
    } catch (err) {
      if (!(err instanceof BtError && err.kind === 'busy')) throw err;
      if (this.busySince === undefined) this.log.line(`waiting: ${err.message}`);
      this.busySince ??= now;
      for (const root of rescans) this.queue.rescan(root, now);
      this.queue.requeue(settled, now);
      this.retryNotBefore = Date.now() + BUSY_RETRY_MS;
      return;
    }
    if (this.busySince !== undefined) this.log.line('the host lock is free again; carrying on');
    this.busySince = undefined;
    try {
      let recorded = false;
      for (const root of rescans) {
        if (this.stopping) return;
        recorded = (await this.rescan(root)) || recorded;
      }
      for (const [root, paths] of settled) {
        if (this.stopping) return;
        recorded = (await this.stagePaths(root, paths)) || recorded;
      }
      if (recorded) {
        // A burst has settled when nothing else is pending; otherwise wait a settle delay for the rest of it.
        const at = this.queue.size === 0 ? Date.now() : Date.now() + this.settings.settleMs;
        this.backupAt = Math.min(this.backupAt ?? at, at);
      }
      if (!this.stopping && this.backupAt !== undefined && this.backupAt <= Date.now()) await this.backup();
    } finally {
      this.ctx.unlockHost();
      this.writeStatus();
    }
  }

  // ---- directories ---------------------------------------------------------------------------------

  /** Watches every tracked directory that is there; stops watching ones that went away or were absorbed. */
  private syncRoots(): void {
    const tracked = new Set(this.ctx.store.queries.listDirectories().map((d) => d.path));
    for (const root of [...this.roots.keys()]) {
      if (!tracked.has(root)) {
        this.log.line(`${root}: no longer a tracked directory; not watching it`);
        this.unwatch(root);
      } else if (!isDirectory(root)) {
        this.log.line(`${root}: the tracked directory is gone; not watching it until it is back`);
        this.unwatch(root);
        this.missing.add(root);
      }
    }
    for (const root of tracked) {
      if (this.roots.has(root)) continue;
      if (!isDirectory(root)) {
        if (!this.missing.has(root)) this.log.line(`${root}: the tracked directory is not there; not watching it until it is`);
        this.missing.add(root);
        continue;
      }
      this.missing.delete(root);
      this.watchRoot(root);
    }
    if (this.stopping) return;
    this.writeStatus();
  }

  private watchRoot(root: string): void {
    if (this.stopping) return;
    const ignore = new WatchIgnore(root, this.ctx.config.fs.ignore, this.ownPaths);
    const native = !this.settings.poll;
    const watcher = this.chokidar.watch(root, {
      persistent: true,
      // Start-up changes are found by a rescan (stat-only, like `bt add`), not by an event per file.
      ignoreInitial: true,
      // bt records symlinks, never follows them.
      followSymlinks: false,
      usePolling: this.settings.poll,
      interval: POLL_INTERVAL_MS,
      binaryInterval: POLL_INTERVAL_MS,
      // Our settle delay already turns an editor's unlink + add into one change; chokidar's own would hide
      // swap-file names from the ignore rules.
      atomic: false,
      awaitWriteFinish: false,
      ignorePermissionErrors: true,
      ignored: (path: string, stats?: { isDirectory(): boolean }) => {
        if (ignore.isOwn(path)) return true;
        const rel = ignore.relative(path);
        if (rel === undefined) return true;
        if (!stats) return ignore.ignores(rel, undefined);
        if (stats.isDirectory()) return ignore.ignores(rel, true);
        // Native mode watches directories only: a directory's watch reports its files' changes by name
        // (see the raw listener), so a tree costs one watch per directory, not one per file.
        return native || ignore.ignores(rel, false);
      },
    });
    const entry: RootWatch = { ignore, watcher };
    this.roots.set(root, entry);
    const current = (): boolean => this.roots.get(root) === entry && !this.stopping;
    watcher.on('ready', () => {
      if (!current()) return;
      this.log.line(`${root}: watching`);
      // Everything that changed while nobody watched (or before the watches were in place) is found now.
      this.queue.rescan(root, Date.now());
      this.kick(Date.now());
    });
    let lastErrorLog = 0;
    let quietErrors = 0;
    watcher.on('error', (err: unknown) => {
      if (!current()) return;
      const now = Date.now();
      // One line per minute at most: a watch limit hit on a big tree fails once per directory.
      if (now - lastErrorLog >= ERROR_LOG_EVERY_MS) {
        const code = errnoCode(err);
        const hint = code === 'ENOSPC' ? ' (inotify watch limit reached: raise fs.inotify.max_user_watches, or use --poll)' : '';
        const more = quietErrors > 0 ? ` (and ${quietErrors} more since the last report)` : '';
        this.log.line(`${root}: watcher error: ${err instanceof Error ? err.message : String(err)}${hint}${more}; rescanning it`);
        lastErrorLog = now;
        quietErrors = 0;
      } else {
        quietErrors++;
      }
      this.queue.rescan(root, Date.now() + this.settings.settleMs);
      this.kick(Date.now() + this.settings.settleMs);
    });
    if (native) {
      watcher.on('raw', (_event: string, name: string | null, details: unknown) => {
        const dir = watchedPathOf(details);
        if (dir !== undefined && current()) this.changed(root, name ? joinName(dir, name) : dir);
      });
    }
    watcher.on('all', (event: string, path: string) => {
      if (native && event !== 'addDir' && event !== 'unlinkDir') return;
      if (current()) this.changed(root, path);
    });
  }

  private unwatch(root: string): void {
    const entry = this.roots.get(root);
    if (!entry) return;
    this.roots.delete(root);
    this.queue.drop(root);
    const closed: Promise<void> = entry.watcher.close().catch(() => {}).finally(() => this.closing.delete(closed));
    this.closing.add(closed);
  }

  // ---- events --------------------------------------------------------------------------------------

  private changed(root: string, path: string): void {
    const entry = this.roots.get(root);
    if (!entry || this.stopping) return;
    const { ignore } = entry;
    if (ignore.isOwn(path)) return;
    const rel = ignore.relative(path);
    if (rel === undefined) return;
    const now = Date.now();
    if (WatchIgnore.isIgnoreFile(path)) {
      // New rules can un-ignore directories chokidar never entered: rebuild its watches once the edit settles.
      ignore.forget();
      this.restarts.set(root, now + this.settings.settleMs);
      this.kick(now + this.settings.settleMs);
    }
    // Ignored whatever it is: dropped now. Ignored only as a file or only as a directory: decided when staged.
    if (rel !== '' && ignore.ignores(rel, undefined)) return;
    if (this.queue.add(root, path, now) === 'overflow') {
      this.log.line(`${root}: too many changes pending; dropping them for one rescan of the directory`);
    }
    this.kick(now + this.settings.settleMs);
  }

  /** Wakes the loop early when work falls due before it meant to wake. */
  private kick(at: number): void {
    if (this.wakeAt !== undefined && this.wakeAt > at) this.wake?.();
  }

  // ---- work (under the host lock) ------------------------------------------------------------------

  /** Stages everything that changed under a root (the same stat-only scan as `bt add`). */
  private async rescan(root: string): Promise<boolean> {
    if (!this.roots.has(root) || !isDirectory(root)) return false;
    this.setState('reconciling');
    const r = await this.stage(root, root);
    if (!r) return false;
    this.log.line(`${root}: rescanned: ${r.staged} staged (${this.settings.formatBytes(r.stagedBytes)}), ${r.deleted} deleted, ${r.unchanged} unchanged`);
    return r.staged + r.deleted > 0;
  }

  /** Stages settled paths of one root: each on its own, or many by one scan of their common ancestor. */
  private async stagePaths(root: string, paths: readonly string[]): Promise<boolean> {
    const entry = this.roots.get(root);
    // A root that vanished is never read as "every file deleted" (an unmounted disk is not a deletion).
    if (!entry || !isDirectory(root)) return false;
    const directory = this.ctx.store.queries.findDirectoryByPath(root);
    if (!directory) return false;
    const targets: string[] = [];
    for (const path of outermost(paths)) {
      const rel = entry.ignore.relative(path);
      if (rel === undefined) continue;
      let stat: BigIntStats | undefined;
      try {
        stat = lstatSync(path, { bigint: true });
      } catch (err) {
        const code = errnoCode(err);
        if (code !== 'ENOENT' && code !== 'ENOTDIR') {
          targets.push(path); // unreadable: staging reports it as skipped, as `bt add` would
          continue;
        }
      }
      if (stat) {
        if (!entry.ignore.ignores(rel, stat.isDirectory())) targets.push(path);
      } else if ([...this.ctx.store.queries.trackedFiles(directory, rel).values()].some((f) => !f.deleted && (f.current || f.staged))) {
        targets.push(path); // gone: staging it records the deletion
      }
    }
    if (targets.length === 0) return false;
    this.setState('staging');
    if (targets.length > GROUP_LIMIT) {
      const ancestor = commonDirectory(root, targets);
      const r = await this.stage(root, ancestor);
      if (!r) return false;
      this.log.line(`${ancestor}: ${targets.length} changed paths: ${r.staged} staged (${this.settings.formatBytes(r.stagedBytes)}), ${r.deleted} deleted`);
      return r.staged + r.deleted > 0;
    }
    let recorded = false;
    for (const target of targets) {
      if (this.stopping) break;
      const r = await this.stage(root, target);
      if (!r) continue;
      if (r.staged + r.deleted === 0) continue;
      recorded = true;
      if (r.staged === 1 && r.deleted === 0) this.log.line(`staged ${target} (${this.settings.formatBytes(r.stagedBytes)})`);
      else if (r.staged === 0 && r.deleted === 1) this.log.line(`deleted ${target}`);
      else this.log.line(`${target}: ${r.staged} staged (${this.settings.formatBytes(r.stagedBytes)}), ${r.deleted} deleted`);
    }
    return recorded;
  }

  /** One stageFiles call; a failure is logged and the root rescanned later, so nothing is lost. */
  private async stage(root: string, target: string): Promise<StageResult | undefined> {
    try {
      const r = await stageFiles(this.ctx, target);
      if (r.staged + r.deleted > 0) {
        this.dirty = true;
        this.lastChangeAt = isoTime(Date.now());
      }
      return r;
    } catch (err) {
      this.log.line(`${target}: could not stage: ${describeError(err)}; retrying with a rescan`);
      this.queue.rescan(root, Date.now() + FAILURE_RETRY_MS);
      return undefined;
    }
  }

  private async backup(): Promise<void> {
    const staged = this.ctx.store.queries.stagedCount();
    if (staged === 0 && !this.dirty) {
      this.backupAt = undefined;
      return;
    }
    this.setState('backing up');
    this.log.line(`backing up ${staged} staged file(s)`);
    try {
      const r = await backup(this.ctx);
      this.dirty = false;
      this.backupAt = undefined;
      this.lastBackupAt = isoTime(Date.now());
      this.lastBackupFiles = r.files;
      const journal = r.sync.map((s) => (s.error ? `vault "${s.vault}" FAILED: ${s.error}` : `vault "${s.vault}" +${s.events} event(s)`)).join(', ');
      this.log.line(`backed up ${r.files} file(s): ${this.settings.formatBytes(r.bytesSent)} sent, ${this.settings.formatBytes(r.bytesDeduped)} deduplicated; journal: ${journal || 'no vault'}`);
      if (r.failed.length > 0 || r.sync.some((s) => s.error)) {
        this.log.line(`${r.failed.length} file(s) kept staged; retrying in ${FAILURE_RETRY_MS / 1000} s`);
        this.backupAt = Date.now() + FAILURE_RETRY_MS;
      }
    } catch (err) {
      this.log.line(`backup failed: ${describeError(err)}; retrying in ${FAILURE_RETRY_MS / 1000} s`);
      this.backupAt = Date.now() + FAILURE_RETRY_MS;
    }
  }

  // ---- status --------------------------------------------------------------------------------------

  private setState(state: WatchState): void {
    if (this.state === state) return;
    this.state = state;
    this.writeStatus();
  }

  private writeStatus(): void {
    const status: WatchStatus = {
      pid: process.pid,
      host_id: this.ctx.config.host_id,
      since: this.settings.since,
      updated_at: isoTime(Date.now()),
      state: this.state,
      settle_ms: this.settings.settleMs,
      poll: this.settings.poll,
      directories: [...this.roots.keys()].sort(),
      pending: this.queue.size,
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

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function watchedPathOf(details: unknown): string | undefined {
  if (typeof details !== 'object' || details === null || !('watchedPath' in details)) return undefined;
  const p = (details as { watchedPath: unknown }).watchedPath;
  return typeof p === 'string' ? p : undefined;
}

/** The paths without those inside another listed path (staging a directory stages its tree). */
function outermost(paths: readonly string[]): string[] {
  const all = new Set(paths);
  return [...all].filter((p) => {
    for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) if (all.has(p.slice(0, i))) return false;
    return true;
  });
}

/** The deepest existing directory (the root at least) that holds every path. */
function commonDirectory(root: string, paths: readonly string[]): string {
  let common = paths[0]!.split('/');
  for (const p of paths.slice(1)) {
    const parts = p.split('/');
    let i = 0;
    while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
    common = common.slice(0, i);
  }
  let dir = common.join('/') || '/';
  while (dir.length > root.length && !isDirectory(dir)) dir = dir.slice(0, dir.lastIndexOf('/')) || '/';
  return dir.length < root.length ? root : dir;
}
