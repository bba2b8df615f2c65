// The watcher's units of work, each run under the host lock: a rescan, the staging of settled paths, a backup.
import { type BigIntStats, lstatSync } from 'node:fs';
import { describeError, errnoCode } from '../core/errors.js';
import { backup } from './backup.js';
import type { Context } from './context.js';
import { type StageResult, stageFiles } from './stage-files.js';
import type { WatchLog } from './watch-log.js';
import type { WatchProgress } from './watch-progress.js';
import type { ChangeQueue } from './watch-queue.js';
import { type RootWatches, isDirectory } from './watch-roots.js';

/** After a failed stage or backup (vault down, disk full), the same work is retried this much later. */
const FAILURE_RETRY_MS = 30_000;
/** More settled paths than this under one directory are staged by one scan of their common ancestor. */
const GROUP_LIMIT = 32;

export interface WatchWorkOptions {
  readonly ctx: Context;
  readonly log: WatchLog;
  readonly queue: ChangeQueue;
  readonly roots: RootWatches;
  readonly progress: WatchProgress;
  /** How byte counts are written in the log. */
  readonly formatBytes: (n: number) => string;
  /** Whether the watcher is stopping: no further path is staged. */
  readonly stopping: () => boolean;
  /** Reads bt.toml again and applies what changed (watch.ts). */
  readonly reloadConfig: () => Promise<void>;
}

export class WatchWork {
  /** Something was recorded since the last backup (a deletion or a directory's metadata stages nothing but must be synced). */
  private dirty = false;
  /** The last backup left work for a retry (files kept staged, a vault that missed versions, a failure). */
  retrying = false;

  constructor(private readonly opts: WatchWorkOptions) {}

  /** The next backup runs even with nothing staged (a vault was added: it gets the history then). */
  requestBackup(): void {
    this.dirty = true;
  }

  /** Stages everything that changed under a root (the same stat-only scan as `bt add`). */
  async rescan(root: string): Promise<boolean> {
    if (!this.opts.roots.has(root) || !isDirectory(root)) return false;
    this.opts.progress.setState('reconciling');
    const r = await this.stage(root, root);
    if (!r) return false;
    this.opts.log.line(`${root}: rescanned: ${r.staged} staged (${this.opts.formatBytes(r.stagedBytes)}), ${r.deleted} deleted, ${r.unchanged} unchanged${directoriesNote(r)}`);
    return recordedAnything(r);
  }

  /** Stages settled paths of one root: each on its own, or many by one scan of their common ancestor. */
  async stagePaths(root: string, paths: readonly string[]): Promise<boolean> {
    const { ctx, log, formatBytes } = this.opts;
    const ignore = this.opts.roots.ignoreOf(root);
    // A root that vanished is never read as "every file deleted" (an unmounted disk is not a deletion).
    if (!ignore || !isDirectory(root)) return false;
    const directory = ctx.store.queries.findDirectoryByPath(root);
    if (!directory) return false;
    const targets: string[] = [];
    // A directory that appeared is one target; "staged DIR" would read as if DIR were a file.
    const directories = new Set<string>();
    for (const path of outermost(paths)) {
      const rel = ignore.relative(path);
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
        if (!ignore.ignores(rel, stat.isDirectory())) targets.push(path);
        if (stat.isDirectory()) directories.add(path);
      } else if (ctx.store.queries.hasLiveFilesUnder(directory, rel) || ctx.store.queries.directoryMeta.anyUnder(directory, rel)) {
        targets.push(path); // gone: staging it records the deletion (of files, or of directories)
      }
    }
    if (targets.length === 0) return false;
    this.opts.progress.setState('staging');
    if (targets.length > GROUP_LIMIT) {
      const ancestor = commonDirectory(root, targets);
      const r = await this.stage(root, ancestor);
      if (!r) return false;
      log.line(`${ancestor}: ${targets.length} changed paths: ${r.staged} staged (${formatBytes(r.stagedBytes)}), ${r.deleted} deleted${directoriesNote(r)}`);
      return recordedAnything(r);
    }
    let recorded = false;
    for (const target of targets) {
      if (this.opts.stopping()) break;
      const r = await this.stage(root, target);
      if (!r) continue;
      if (!recordedAnything(r)) continue;
      recorded = true;
      const one = !directories.has(target);
      // One file: its directory's new mtime, recorded with it, goes without saying.
      if (one && r.staged === 1 && r.deleted === 0) log.line(`staged ${target} (${formatBytes(r.stagedBytes)})`);
      // One file deleted records its directory's mtime at most; a removed directory that held one file, more.
      else if (one && r.staged === 0 && r.deleted === 1 && r.directories <= 1) log.line(`deleted ${target}`);
      else log.line(`${target}: ${r.staged} staged (${formatBytes(r.stagedBytes)}), ${r.deleted} deleted${directoriesNote(r)}`);
    }
    return recorded;
  }

  /** One stageFiles call; a failure is logged and the root rescanned later, so nothing is lost. */
  private async stage(root: string, target: string): Promise<StageResult | undefined> {
    try {
      const r = await stageFiles(this.opts.ctx, target);
      if (recordedAnything(r)) {
        this.dirty = true;
        this.opts.progress.changed(Date.now());
      }
      return r;
    } catch (err) {
      this.opts.log.line(`${target}: could not stage: ${describeError(err)}; retrying with a rescan`);
      this.opts.queue.rescan(root, Date.now() + FAILURE_RETRY_MS);
      return undefined;
    }
  }

  /** Backs up what is staged; returns when to back up again (undefined: not until something changes). */
  async backup(): Promise<number | undefined> {
    const { ctx, log, formatBytes } = this.opts;
    const staged = ctx.store.queries.stagedCount();
    if (staged === 0 && !this.dirty) return undefined;
    this.opts.progress.setState('backing up');
    try {
      // The config as it is now: a vault added or removed a moment ago counts from this backup on.
      await this.opts.reloadConfig();
      log.line(`backing up ${staged} staged file(s)`);
      const r = await backup(ctx);
      this.dirty = false;
      this.opts.progress.backedUp(Date.now(), r.files);
      const journal = r.sync.map((s) => (s.error ? `vault "${s.vault}" FAILED: ${s.error}` : `vault "${s.vault}" +${s.events} event(s)`)).join(', ');
      log.line(`backed up ${r.files} file(s): ${formatBytes(r.bytesSent)} sent, ${formatBytes(r.bytesDeduped)} deduplicated; journal: ${journal || 'no vault'}`);
      for (const c of r.caughtUp) log.line(`vault "${c.vault}": ${c.contents} content(s) copied from the other vaults${c.error ? `; FAILED: ${c.error}` : c.refused ? `; ${c.left} refused: ${c.refused}` : ''}`);
      const away = [...new Set([...r.skipped.map((s) => s.vault), ...r.caughtUp.filter((c) => c.error !== null || c.refused !== null).map((c) => c.vault)])];
      const unsynced = r.sync.filter((s) => s.error).map((s) => s.vault);
      const left = [
        ...(r.failed.length > 0 ? [`${r.failed.length} file(s) kept staged`] : []),
        ...(away.length > 0 ? [`vault(s) ${away.map((v) => `"${v}"`).join(', ')} missed versions`] : []),
        ...(unsynced.length > 0 ? [`the journal did not reach vault(s) ${unsynced.map((v) => `"${v}"`).join(', ')}`] : []),
      ];
      this.retrying = left.length > 0;
      if (!this.retrying) return undefined;
      // Tried again even with nothing staged: a vault that comes back gets what it missed.
      this.dirty = true;
      log.line(`${left.join('; ')}; trying again in ${FAILURE_RETRY_MS / 1000} s`);
      return Date.now() + FAILURE_RETRY_MS;
    } catch (err) {
      log.line(`backup failed: ${describeError(err)}; retrying in ${FAILURE_RETRY_MS / 1000} s`);
      this.retrying = true;
      return Date.now() + FAILURE_RETRY_MS;
    }
  }
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

/** Anything appended that the vaults must get: staged files, deletions, directory metadata. */
const recordedAnything = (r: StageResult): boolean => r.staged + r.deleted + r.directories > 0;
const directoriesNote = (r: StageResult): string => (r.directories > 0 ? `, ${r.directories} directory change(s)` : '');
