// `bt watch`: stages and backs up changes as they happen; chokidar events settle, rescans catch what events miss.
import { statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { configPath } from '../config/file.js';
import { BtError } from '../core/errors.js';
import { isoTime } from '../core/ids.js';
import { Context, type Reporter } from './context.js';
import { type WatchLog, openWatchLog } from './watch-log.js';
import { WatchProgress } from './watch-progress.js';
import { ChangeQueue } from './watch-queue.js';
import { type Chokidar, RootWatches } from './watch-roots.js';
import { type WatcherLock, acquireWatcherLock } from './watch-status.js';
import { WatchWork } from './watch-work.js';

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

/** Runs the watcher until `opts.signal` aborts. Refuses to start while another watcher runs for this host. */
export async function runWatcher(opts: WatchOptions): Promise<void> {
  let log: WatchLog | undefined;
  const reporter: Reporter = { notice: (message) => log?.line(message) };
  const ctx = Context.open(reporter);
  let lock: WatcherLock | undefined;
  try {
    ctx.checkJournalOwner();
    const settleMs = opts.settleMs ?? ctx.config.watch.settle_ms;
    const poll = opts.poll ?? ctx.config.watch.poll;
    const intervalMinutes = opts.intervalMinutes ?? ctx.config.watch.backup_interval_minutes;
    const since = isoTime(Date.now());
    lock = acquireWatcherLock(ctx.config.database.data_dir, {
      pid: process.pid, host_id: ctx.config.host_id, since, updated_at: since, state: 'starting', settle_ms: settleMs, poll,
      directories: [], pending: 0, last_change_at: null, last_backup_at: null, last_backup_files: 0,
    });
    log = openWatchLog(ctx.config.log_dir, opts.echo);
    // require, not import(): Node 20 loses a script's import() callback when the script comes from a code
    // cache (src/core/code-cache.ts). Node >= 20.19 requires this ES module as it is.
    const chokidar = createRequire(import.meta.url)('chokidar') as Chokidar;
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

/** The loop: sleeps until work falls due, then does it under the host lock, until stopped. */
class Watcher {
  private readonly queue: ChangeQueue;
  private readonly roots: RootWatches;
  private readonly progress: WatchProgress;
  private readonly work: WatchWork;
  private stopping = false;
  private backupAt: number | undefined;
  private nextIntervalAt: number | undefined;
  private nextDirectoryPollAt = 0;
  private retryNotBefore = 0;
  private busySince: number | undefined;
  private wakeAt: number | undefined;
  private wake: (() => void) | undefined;
  /** The config file as last read (size, times, inode): a change is read at the next directory poll. */
  private configStamp: string;

  constructor(
    private readonly ctx: Context,
    chokidar: Chokidar,
    private readonly log: WatchLog,
    lock: WatcherLock,
    private readonly settings: Settings,
  ) {
    const { settleMs, poll } = settings;
    const queue = new ChangeQueue({ settleMs, maxWaitMs: Math.max(10 * settleMs, 60_000), limit: queueLimit() });
    const roots = new RootWatches(ctx, chokidar, log, queue, { settleMs, poll, kick: (at) => this.kick(at) });
    const progress = new WatchProgress(lock, log, { hostId: ctx.config.host_id, since: settings.since, settleMs, poll }, () => ({
      directories: [...roots.paths()].sort(),
      pending: queue.size,
    }));
    const stopping = (): boolean => this.stopping;
    const reloadConfig = (): Promise<void> => this.reloadConfig();
    this.work = new WatchWork({ ctx, log, queue, roots, progress, formatBytes: settings.formatBytes, stopping, reloadConfig });
    this.configStamp = configStamp();
    this.queue = queue;
    this.roots = roots;
    this.progress = progress;
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
        this.progress.setState(this.busySince !== undefined ? 'waiting' : this.work.retrying ? 'retrying' : 'idle');
        await this.sleep(this.nextWake());
      }
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.stopping = true;
      await this.roots.close();
    }
    this.log.line('watcher stopped');
  }

  private stop(reason: unknown): void {
    if (this.stopping) return;
    this.stopping = true;
    const why = typeof reason === 'string' ? reason : 'stop requested';
    this.log.line(`stopping (${why}): no new events; finishing the step under way`);
    this.progress.setState('stopping');
    // Stop taking events at once; the step under way finishes, the rest is found by the next start's rescan.
    void this.roots.close();
    this.wake?.();
  }

  private nextWake(): number {
    let work = this.queue.nextDueAt();
    for (const at of [this.backupAt, this.nextIntervalAt]) if (at !== undefined) work = work === undefined ? at : Math.min(work, at);
    let next = this.nextDirectoryPollAt;
    if (work !== undefined) next = Math.min(next, Math.max(work, this.retryNotBefore));
    const restart = this.roots.nextRestartAt();
    if (restart !== undefined) next = Math.min(next, restart);
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
      if (configStamp() !== this.configStamp) await this.reloadConfig();
      this.roots.sync();
      if (!this.stopping) this.progress.write();
      this.nextDirectoryPollAt = now + DIRECTORY_POLL_MS;
    }
    this.roots.restartDue(now);
    if (now < this.retryNotBefore) return;
    if (this.nextIntervalAt !== undefined && now >= this.nextIntervalAt) {
      // The safety net: events can be lost (libuv does not report an inotify queue overflow), a rescan is not.
      for (const root of this.roots.paths()) this.queue.rescan(root, now);
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
        recorded = (await this.work.rescan(root)) || recorded;
      }
      for (const [root, paths] of settled) {
        if (this.stopping) return;
        recorded = (await this.work.stagePaths(root, paths)) || recorded;
      }
      if (recorded) {
        // A burst has settled when nothing else is pending; otherwise wait a settle delay for the rest of it.
        const at = this.queue.size === 0 ? Date.now() : Date.now() + this.settings.settleMs;
        this.backupAt = Math.min(this.backupAt ?? at, at);
      }
      if (!this.stopping && this.backupAt !== undefined && this.backupAt <= Date.now()) this.backupAt = await this.work.backup();
    } finally {
      this.ctx.unlockHost();
      this.progress.write();
    }
  }

  /**
   * Reads bt.toml again (`bt config vault add`, an edited ignore list): a new vault gets the history at a
   * backup now, not at the next change; new ignore rules rebuild every root's watches (chokidar never
   * entered a directory ignored before) and rescan them.
   */
  private async reloadConfig(): Promise<void> {
    this.configStamp = configStamp();
    const r = await this.ctx.reloadConfig();
    if (!r) return;
    this.log.line(r.message);
    const now = Date.now();
    if (r.ignore) this.roots.restartAll(now);
    if (r.vaults) {
      this.work.requestBackup();
      this.backupAt = Math.min(this.backupAt ?? now, now);
    }
  }

  /** Wakes the loop early when work falls due before it meant to wake. */
  private kick(at: number): void {
    if (this.wakeAt !== undefined && this.wakeAt > at) this.wake?.();
  }
}

/** What tells that bt.toml changed without reading it: its inode (an editor's save renames), size and times. */
function configStamp(): string {
  const s = statSync(configPath(), { throwIfNoEntry: false, bigint: true });
  return s ? `${s.ino}:${s.size}:${s.mtimeNs}:${s.ctimeNs}` : 'none';
}
