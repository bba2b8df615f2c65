// `bt restore DIR --output OUT`: every file under a tracked directory as of a time, with its layout and metadata.
import pLimit from 'p-limit';
import { BtError, describeError, errnoCode, userError, vaultError } from '../core/errors.js';
import { isoTime } from '../core/ids.js';
import { parseUserTime } from '../core/time.js';
import { defaultFileMode } from '../core/umask.js';
import { type RestoredMeta, type SmallRestoreJob, applyDirectoryMetadata, noSpaceToRestore } from '../fs/restore-file.js';
import { RestorePool } from '../fs/restore-pool.js';
import type { DirectoryMeta } from '../events/codecs.js';
import type { Directory, Snapshot } from '../projections/queries.js';
import type { Context } from './context.js';
import { hasFilesUnder, locateDirectory } from './locate.js';
import { OutputDirs } from './output-dirs.js';
import { materialize } from './restore.js';
import { noneAnswers } from './unavailable-vaults.js';

export interface TreeRestoreOptions {
  readonly output: string;
  readonly at?: string;
  readonly deleted: boolean;
  readonly force: boolean;
  readonly contentOnly: boolean;
}

export interface TreeRestoreResult {
  readonly source: string;
  readonly output: string;
  readonly at: string;
  readonly files: number;
  readonly bytes: number;
  /** Files deleted as of that time and left out (pass --deleted to include them). */
  readonly deletedSkipped: number;
  /** Deleted files left out with --deleted because what was there as of then has their name or a directory's. */
  readonly shadowedSkipped: number;
  /** Files under the tree with a version staged by then but not backed up: restored as last backed up, or left out. */
  readonly stagedNotBackedUp: number;
  readonly failed: readonly { path: string; reason: string }[];
  /** Of those, files whose every stored copy is missing or corrupt (corruption, not a place bt could not write). */
  readonly damaged: number;
  readonly warnings: readonly string[];
}

/**
 * Directories of the tree as of `at` (recorded by `bt add`, not since removed) are made, empty ones too;
 * then every directory this restore made gets its recorded mode, owner and mtime. Directories that were
 * already there are left as they are; one with nothing recorded (backed up before bt recorded directories)
 * keeps the umask's mode. One that cannot be made is a warning (with nothing below it tried).
 */
function restoreDirectories(
  ctx: Context, directory: Directory, prefix: string, at: string, opts: TreeRestoreOptions, dirs: OutputDirs,
  warnings: Set<string>,
): void {
  const recorded = new Map<string, DirectoryMeta>();
  for (const [name, meta] of ctx.store.queries.directoryMeta.asOf(directory, prefix, at)) {
    recorded.set(prefix === '' ? name : name === prefix ? '' : name.slice(prefix.length + 1), meta);
  }
  // Parents sort before what is below them: one thing in the way is one warning, not one per directory.
  let blocked: string | undefined;
  for (const rel of [...recorded.keys()].sort()) {
    if (blocked !== undefined && rel.startsWith(`${blocked}/`)) continue;
    // The files asked for are restored: an empty directory that cannot be made (a file restored with
    // --deleted, or already in the output, has its name; a directory refuses the write) is a warning.
    let problem: string | undefined;
    try {
      problem = dirs.directory(rel);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOSPC') throw noSpaceToRestore(opts.output);
      if (code === undefined) throw err;
      problem = `cannot write into its parent (${code})`;
    }
    if (problem === undefined) continue;
    blocked = rel;
    warnings.add(`${rel}/: directory not made: ${problem}`);
  }
  if (opts.contentOnly) return;
  for (const made of dirs.ownDeepestFirst()) {
    const meta = recorded.get(made.rel);
    if (!meta) continue;
    const found: string[] = [];
    try {
      applyDirectoryMetadata(meta, made.abs, made, found);
    } catch (err) {
      found.push(`${made.abs}: directory mode and times not restored (${errnoCode(err) ?? describeError(err)})`);
    }
    for (const w of found) warnings.add(w);
  }
}

/** Only what a worker needs: the snapshot row is cloned into its message. */
const restoredMeta = (s: Snapshot): RestoredMeta => ({ kind: s.kind, mode: s.mode, uid: s.uid, gid: s.gid, atime_ns: s.atime_ns, mtime_ns: s.mtime_ns });

/** Files up to this size are read whole into memory by a restore worker (as the vault's own small path does). */
const SMALL_FILE = 4 << 20;

/**
 * A tracked directory, or a path with known files below it; anything else is restored (or refused) as a file.
 * A name both a file and a directory over time means what it was as of `atIso` (default: now, where a deleted
 * file whose name has files below it was replaced by a directory), unless a version of the file is asked for.
 */
export function isTreeRestore(ctx: Context, abs: string, asked: { readonly atIso?: string; readonly versionOfFile: boolean }): boolean {
  const { directory, name } = locateDirectory(ctx, abs);
  if (name === '') return true;
  const q = ctx.store.queries;
  const file = q.findFileByPath(directory, name);
  if (!file) return hasFilesUnder(ctx, directory, name) || q.directoryMeta.anyUnder(directory, name, asked.atIso);
  if (asked.versionOfFile) return false;
  const at = asked.atIso;
  // Names after `name` itself in the page order are the ones below it (`name/...`).
  if (at === undefined) return file.deleted && q.trackedPage(directory, name, name, 1).length > 0;
  // As of then: a file that was not there (not yet, or deleted) where a directory was means the directory,
  // whatever the name is now.
  const [self] = q.versionsAsOf(directory, name, at, '', 1);
  if (self?.name === name && !deletedBy(self.snapshot.staged_at, self.deletedAt)) return false;
  return q.versionsAsOf(directory, name, at, name, 1).length > 0 || q.directoryMeta.anyUnder(directory, name, at);
}

/** Deleted as of then (the deletion came after the version we would restore) and not asked for. */
const deletedBy = (stagedAt: string, deletedAt: string | null): boolean => deletedAt !== null && deletedAt >= stagedAt;
const leftOutAsDeleted = (opts: TreeRestoreOptions, stagedAt: string, deletedAt: string | null): boolean => deletedBy(stagedAt, deletedAt) && !opts.deleted;

/** Files per page: the tree is read and restored a page at a time, so memory does not grow with its size. */
const PAGE = 500;

type Chosen = { readonly rel: string; readonly snapshot: Snapshot };
type ContentHolders = ReadonlyMap<string, ReadonlySet<string>>;
interface PreparedPage {
  /** Name of the page's last file: the next page starts after it. */
  readonly last: string;
  readonly holders: ContentHolders;
  /** Files for the general path (large, remote, or whose local object a worker could not use). */
  readonly general: Chosen[];
  readonly fast: readonly { readonly c: Chosen; readonly job: SmallRestoreJob }[];
}

/** Versions under `prefix` of the directory staged by `at` and not backed up (one page of the queue at a time). */
function stagedUnder(ctx: Context, directoryId: string, prefix: string, at: string): number {
  let n = 0;
  for (let after = 0; ; ) {
    const page = ctx.store.queries.stagedPage(after, 1000);
    if (page.length === 0) return n;
    for (const op of page) {
      const under = prefix === '' || op.name === prefix || op.name.startsWith(`${prefix}/`);
      if (op.directory_id === directoryId && under && op.staged_at <= at) n++;
    }
    after = page[page.length - 1]!.seq;
  }
}

export function restoreTree(ctx: Context, abs: string, opts: TreeRestoreOptions): Promise<TreeRestoreResult> {
  // The tree is read in pages: all of them from one view, whatever another bt commits meanwhile.
  return ctx.store.readSnapshot(() => restoreTreeAsOf(ctx, abs, opts));
}

async function restoreTreeAsOf(ctx: Context, abs: string, opts: TreeRestoreOptions): Promise<TreeRestoreResult> {
  const { directory, name: prefix } = locateDirectory(ctx, abs);
  // Metadata recovered as of a time (`bt recover --at`) holds nothing later: "as of" says that time, not now.
  const at = opts.at === undefined ? (ctx.store.settings.get('frozen_at') ?? isoTime(ctx.clock.now())) : isoTime(parseUserTime(opts.at, '--at'));
  const q = ctx.store.queries;
  // An empty tree fails before anything is made. Counted in full only for the progress display's total.
  let total = 0;
  let found = false;
  for (const v of q.versionTimesAsOf(directory, prefix, at)) {
    found = true;
    if (!ctx.reporter.progress) break;
    if (!leftOutAsDeleted(opts, v.stagedAt, v.deletedAt)) total++;
  }
  // Directories alone (empty ones recorded by `bt add`) are a tree too.
  if (!found && !q.directoryMeta.anyUnder(directory, prefix, at)) {
    throw userError(`nothing under ${abs} was backed up as of ${at}`, 'see `bt dir status` and `bt log`');
  }

  const failed: { path: string; reason: string }[] = [];
  const warnings = new Set<string>();
  let files = 0;
  let bytes = 0;
  let deletedSkipped = 0;
  let shadowedSkipped = 0;
  /**
   * Whether what was there as of `at` takes the place of a deleted file (--deleted): the state as of then
   * wins. Exact-name lookups, and a directory's answer is kept for the files after it: many deleted files
   * share their directories.
   */
  const liveFile = new Map<string, boolean>();
  const liveAsOf = (name: string): boolean => {
    let live = liveFile.get(name);
    if (live === undefined) {
      const v = q.versionTimeOf(directory, name, at);
      live = v !== undefined && !deletedBy(v.stagedAt, v.deletedAt);
      if (liveFile.size > 10_000) liveFile.clear();
      liveFile.set(name, live);
    }
    return live;
  };
  const liveUnder = (name: string): boolean => {
    for (let after = '', page; (page = q.versionTimesBelow(directory, name, at, after, 100)).length > 0; after = page[page.length - 1]!.name) {
      if (page.some((v) => v.stagedAt !== null && !deletedBy(v.stagedAt, v.deletedAt))) return true;
    }
    return false;
  };
  const shadowed = (name: string): boolean => {
    // A file or link where one of its directories was (x/a deleted, x a file now), or a directory where it was.
    for (let i = name.indexOf('/'); i > 0; i = name.indexOf('/', i + 1)) if (liveAsOf(name.slice(0, i))) return true;
    return liveUnder(name);
  };
  const limit = pLimit(Math.max(1, ctx.config.backup.concurrency));
  // No vault that can answer at all (a disk not mounted): one line, before anything is written, instead of
  // the same failure for every file.
  const someContent = q.versionsAsOf(directory, prefix, at, '', PAGE).find((v) => v.snapshot.content_id !== null);
  const vaults = await ctx.vaults();
  const unreachable = someContent ? await noneAnswers(vaults, someContent.snapshot.content_id!) : undefined;
  if (unreachable) throw vaultError(`no vault can be read: ${unreachable.join('; ')}`, 'mount its disk or check its network, then restore again');
  const dirs = new OutputDirs(opts.output, opts.force);
  const restored = (snapshot: Snapshot): void => {
    files++;
    bytes += snapshot.size;
    ctx.reporter.progress?.({ phase: 'restoring', files, totalFiles: total, bytes });
  };
  let damaged = 0;
  const failWith = (rel: string, reason: string): void => {
    failed.push({ path: rel, reason });
    ctx.reporter.notice(`${rel}: ${reason}`);
  };
  const fail = (rel: string, err: unknown): void => {
    if (err instanceof BtError && err.kind === 'integrity') damaged++;
    failWith(rel, describeError(err));
  };
  const restoreOne = async ({ rel, snapshot }: Chosen, holders?: ContentHolders): Promise<void> => {
    try {
      const target = dirs.target(rel, opts.force);
      const r = await materialize(ctx, snapshot, target, opts.contentOnly, holders);
      for (const w of r.warnings) warnings.add(w);
      restored(snapshot);
    } catch (err) {
      if (errnoCode(err) === 'ENOSPC') throw noSpaceToRestore(opts.output);
      fail(rel, err);
    }
  };
  // A small file whose content a vault on a local disk holds is restored by a worker; the rest, and any
  // file a worker found missing or corrupt there, take the general path (every vault, large files, S3).
  const localObject = (s: Snapshot, holders: ContentHolders): string | undefined => {
    if (s.content_id === null || s.size > SMALL_FILE) return undefined;
    const held = holders.get(s.content_id);
    return vaults.find((v) => v.localObjectPath && held?.has(v.name))?.localObjectPath?.(s.content_id);
  };
  const plainMode = defaultFileMode();
  const symlinks: Chosen[] = [];

  /** Reads the page after `after` and makes its worker jobs; null when the tree is done. */
  const preparePage = (after: string): PreparedPage | null => {
    const page = q.versionsAsOf(directory, prefix, at, after, PAGE);
    if (page.length === 0) return null;
    const regular: Chosen[] = [];
    for (const { name, snapshot, deletedAt } of page) {
      if (leftOutAsDeleted(opts, snapshot.staged_at, deletedAt)) {
        deletedSkipped++;
        continue;
      }
      if (deletedBy(snapshot.staged_at, deletedAt) && shadowed(name)) {
        shadowedSkipped++;
        continue;
      }
      const c = { rel: prefix === '' ? name : name.slice(prefix.length + 1), snapshot };
      (snapshot.kind === 'symlink' ? symlinks : regular).push(c);
    }
    const holders = q.contentLocationsOf(regular.flatMap((c) => (c.snapshot.content_id === null ? [] : [c.snapshot.content_id])));
    const general: Chosen[] = [];
    const fast: { c: Chosen; job: SmallRestoreJob }[] = [];
    for (const c of regular) {
      const object = localObject(c.snapshot, holders);
      if (object === undefined) {
        general.push(c);
        continue;
      }
      try {
        const target = dirs.target(c.rel, opts.force);
        const s = c.snapshot;
        const owned = dirs.newFileOwnedBy(target, s.uid, s.gid);
        fast.push({ c, job: { object, checksum: s.content_id!, size: s.size, target, owned, meta: opts.contentOnly ? null : restoredMeta(s), plainMode } });
      } catch (err) {
        fail(c.rel, err);
      }
    }
    return { last: page[page.length - 1]!.name, holders, general, fast };
  };

  const first = preparePage('');
  const pool = new RestorePool();
  try {
    // While the workers write one page, this thread reads and prepares the next (at most two in memory).
    for (let current = first; current !== null; ) {
      const writing = pool.run(current.fast.map((f) => f.job));
      let next: PreparedPage | null;
      try {
        next = preparePage(current.last);
      } finally {
        // Never leave the workers' answer unawaited, even when reading the next page fails.
        await writing.catch(() => undefined);
      }
      const outcomes = await writing;
      const { fast, general, holders } = current;
      for (const [k, { c }] of fast.entries()) {
        const o = outcomes[k]!;
        if (o.kind === 'done') {
          for (const w of o.warnings) warnings.add(w);
          restored(c.snapshot);
        } else if (o.kind === 'failed') {
          if (o.noSpace) throw noSpaceToRestore(opts.output);
          failWith(c.rel, o.reason);
        } else {
          general.push(c);
        }
      }
      await Promise.all(general.map((c) => limit(() => restoreOne(c, holders))));
      current = next;
    }
  } finally {
    await pool.close();
  }
  // Symlinks last: no file of this restore is ever written through a link it restored. (Only they are kept
  // across pages; they hold no content.)
  for (const link of symlinks) await restoreOne(link);
  restoreDirectories(ctx, directory, prefix, at, opts, dirs, warnings);
  failed.sort((a, b) => (a.path < b.path ? -1 : 1));
  const stagedNotBackedUp = stagedUnder(ctx, directory.id, prefix, at);
  return { source: abs, output: opts.output, at, files, bytes, deletedSkipped, shadowedSkipped, stagedNotBackedUp, failed, damaged, warnings: [...warnings] };
}
