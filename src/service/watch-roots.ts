// The watcher's chokidar instances, one per tracked directory that is there: their events become queued changes.
import { lstatSync } from 'node:fs';
import type { FSWatcher } from 'chokidar';
import { errnoCode } from '../core/errors.js';
import { joinName } from '../fs/paths.js';
import type { Context } from './context.js';
import { btOwnPaths } from './own-paths.js';
import { WatchIgnore } from './watch-ignore.js';
import type { WatchLog } from './watch-log.js';
import type { ChangeQueue } from './watch-queue.js';

/** Watcher errors of one directory are logged at most this often (the rescans still happen). */
const ERROR_LOG_EVERY_MS = 60_000;
/** Stat polling interval with --poll (chokidar's default of 100 ms costs too much on a large tree). */
const POLL_INTERVAL_MS = 1000;

export type Chokidar = typeof import('chokidar');

interface RootWatch {
  readonly ignore: WatchIgnore;
  readonly watcher: FSWatcher;
}

export interface RootWatchOptions {
  readonly settleMs: number;
  /** Stat polling instead of native events. */
  readonly poll: boolean;
  /** Wakes the watcher's loop when work falls due before it meant to wake. */
  readonly kick: (at: number) => void;
}

export class RootWatches {
  private readonly roots = new Map<string, RootWatch>();
  /** Tracked directories that are not there (unmounted, removed): not watched, never read as "all deleted". */
  private readonly missing = new Set<string>();
  /** Roots whose .btignore changed: their chokidar instance is rebuilt at the time given. */
  private readonly restarts = new Map<string, number>();
  private readonly closing = new Set<Promise<void>>();
  private readonly ownPaths: string[];
  private closed = false;

  constructor(
    private readonly ctx: Context,
    private readonly chokidar: Chokidar,
    private readonly log: WatchLog,
    private readonly queue: ChangeQueue,
    private readonly opts: RootWatchOptions,
  ) {
    this.ownPaths = btOwnPaths(ctx.config);
  }

  /** The watched roots, in the order they were first watched. */
  paths(): IterableIterator<string> {
    return this.roots.keys();
  }

  has(root: string): boolean {
    return this.roots.has(root);
  }

  /** The ignore rules of a watched root; undefined when it is not watched. */
  ignoreOf(root: string): WatchIgnore | undefined {
    return this.roots.get(root)?.ignore;
  }

  /** Watches every tracked directory that is there; stops watching ones that went away or were absorbed. */
  sync(): void {
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
      this.watch(root);
    }
  }

  /** Every root watched again with the config's ignore rules (they changed in bt.toml), now. */
  restartAll(now: number): void {
    for (const root of this.roots.keys()) this.restarts.set(root, now);
  }

  /** Rebuilds the chokidar instances whose restart (after a change of the ignore rules) is due. */
  restartDue(now: number): void {
    for (const [root, at] of this.restarts) {
      if (at > now) continue;
      this.restarts.delete(root);
      this.log.line(`${root}: ignore rules changed; watching it again with the new rules`);
      this.unwatch(root);
      this.watch(root);
    }
  }

  /** When the earliest pending restart falls due; undefined when there is none. */
  nextRestartAt(): number | undefined {
    let next: number | undefined;
    for (const at of this.restarts.values()) next = next === undefined ? at : Math.min(next, at);
    return next;
  }

  /** Stops taking events at once; resolves when every chokidar instance has closed. */
  close(): Promise<void> {
    this.closed = true;
    for (const root of [...this.roots.keys()]) this.unwatch(root);
    return Promise.all([...this.closing]).then(() => undefined);
  }

  private watch(root: string): void {
    if (this.closed) return;
    const ignore = new WatchIgnore(root, this.ctx.config.fs.ignore, this.ownPaths);
    const native = !this.opts.poll;
    const watcher = this.chokidar.watch(root, {
      persistent: true,
      // Start-up changes are found by a rescan (stat-only, like `bt add`), not by an event per file.
      ignoreInitial: true,
      // bt records symlinks, never follows them.
      followSymlinks: false,
      usePolling: this.opts.poll,
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
    const current = (): boolean => this.roots.get(root) === entry && !this.closed;
    watcher.on('ready', () => {
      if (!current()) return;
      this.log.line(`${root}: watching`);
      // Everything that changed while nobody watched (or before the watches were in place) is found now.
      this.queue.rescan(root, Date.now());
      this.opts.kick(Date.now());
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
      this.queue.rescan(root, Date.now() + this.opts.settleMs);
      this.opts.kick(Date.now() + this.opts.settleMs);
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

  private changed(root: string, path: string): void {
    const entry = this.roots.get(root);
    if (!entry || this.closed) return;
    const { ignore } = entry;
    if (ignore.isOwn(path)) return;
    const rel = ignore.relative(path);
    if (rel === undefined) return;
    const now = Date.now();
    if (WatchIgnore.isIgnoreFile(path)) {
      // New rules can un-ignore directories chokidar never entered: rebuild its watches once the edit settles.
      ignore.forget();
      this.restarts.set(root, now + this.opts.settleMs);
      this.opts.kick(now + this.opts.settleMs);
    }
    // Ignored whatever it is: dropped now. Ignored only as a file or only as a directory: decided when staged.
    if (rel !== '' && ignore.ignores(rel, undefined)) return;
    if (this.queue.add(root, path, now) === 'overflow') {
      this.log.line(`${root}: too many changes pending; dropping them for one rescan of the directory`);
    }
    this.opts.kick(now + this.opts.settleMs);
  }
}

/** A real directory, not a link to one: as `bt add` takes a tracked root (tracked-walk.ts). */
export function isDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}

function watchedPathOf(details: unknown): string | undefined {
  if (typeof details !== 'object' || details === null || !('watchedPath' in details)) return undefined;
  const p = (details as { watchedPath: unknown }).watchedPath;
  return typeof p === 'string' ? p : undefined;
}
