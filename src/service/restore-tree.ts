// `bt restore DIR --output OUT`: every file under a tracked directory as of a time, with its layout and metadata.
import { type Stats, accessSync, constants, lstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import pLimit from 'p-limit';
import { BtError, describeError, errnoCode, userError } from '../core/errors.js';
import { isoTime } from '../core/ids.js';
import { parseUserTime } from '../core/time.js';
import { defaultFileMode, mkdirForUser } from '../core/umask.js';
import { pathExists, safeJoin } from '../fs/paths.js';
import { type RestoredMeta, type SmallRestoreJob, applyDirectoryMetadata, noSpaceToRestore, refuseSpecialTarget } from '../fs/restore-file.js';
import { RestorePool } from '../fs/restore-pool.js';
import type { DirectoryMeta } from '../events/codecs.js';
import type { Directory, Snapshot } from '../projections/queries.js';
import type { Context } from './context.js';
import { hasFilesUnder, locateDirectory } from './locate.js';
import { materialize } from './restore.js';

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
  readonly failed: readonly { path: string; reason: string }[];
  /** Of those, files whose every stored copy is missing or corrupt (corruption, not a place bt could not write). */
  readonly damaged: number;
  readonly warnings: readonly string[];
}

/**
 * The directories of the output: made as needed, never through a symlink (a journal holding both
 * `a -> /etc` and `a/passwd` must not write /etc/passwd). It remembers which ones this restore made: a file
 * going into one of those cannot exist yet (names are unique in a tree) unless it is itself a directory made
 * here, so it needs no existence check: that saves an lstat per file when restoring into a new --output.
 */
class OutputDirs {
  /** Directories known to be real directories (not links), with their owner and group. */
  private readonly verified = new Map<string, Owner>();
  /** Directories this restore made, each with its name relative to the output and its identity. */
  private readonly made = new Map<string, MadeDirectory>();
  /** With --force, the directories already there inside the output: they get the recorded metadata too. */
  private readonly existing = new Map<string, MadeDirectory>();

  constructor(
    private readonly root: string,
    private readonly force: boolean,
  ) {
    // An output that was there is left as it is, --force or not: it may be /tmp, or a link to a directory.
    if (mkdirForUser(root)) this.made.set(root, madeDirectory(root, ''));
    // The output itself may be a link to a directory: the directory's owner counts.
    this.verified.set(root, ownerOf(statSync(root)));
    // One line for an output nothing can be written into, not one per file.
    try {
      accessSync(root, constants.W_OK);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') throw userError(`cannot write into ${root} (${code})`, 'restore elsewhere with --output');
      throw err;
    }
  }

  /**
   * Makes the directory `rel` of the output (and its parents) where it is not there yet; returns what is in
   * the way instead, if something is.
   */
  directory(rel: string): string | undefined {
    if (rel === '') return undefined;
    const inTheWay = this.makeDirectory(rel.split('/'));
    return inTheWay && `${inTheWay.dir} is ${inTheWay.what}`;
  }

  /**
   * True when a file created in `target`'s directory already has this owner and group, so restoring them
   * needs no chown: they are this process's uid and gid, and the directory has both too. A new file takes
   * the directory's group on BSD, or on Linux under setgid; either way it is this one. A filesystem that
   * gives new files another owner (NFS squashing root or everyone) gave the directories bt made there that
   * owner too, so they fail this test and their files are chowned as before. Only a directory that existed
   * before, owned by root on an export that squashes root, would let a file come out with the squashed owner
   * and no warning.
   */
  newFileOwnedBy(target: string, uid: number, gid: number): boolean {
    const dir = this.verified.get(dirname(target));
    return uid === euid && gid === egid && dir !== undefined && dir.uid === uid && dir.gid === gid;
  }

  /** Where a file of the tree goes: inside the output, not over an existing file (without --force), parents made. */
  target(rel: string, force: boolean): string {
    const target = safeJoin(this.root, rel);
    // Only a directory this restore made for deeper files can already be there.
    const fresh = this.made.has(this.prepareParents(rel)) && !this.verified.has(target);
    if (!force && !fresh && pathExists(target)) throw userError(`${target} already exists`, 'use --force to overwrite');
    if (force && !fresh) refuseSpecialTarget(target);
    return target;
  }

  private prepareParents(rel: string): string {
    const parts = rel.split('/').slice(0, -1);
    const inTheWay = inUserTerms(() => this.makeDirectory(parts));
    if (inTheWay) {
      // Something in the output is in the way (never written through): the destination's problem, not corruption.
      throw userError(`refusing to restore ${rel}: ${inTheWay.dir} is ${inTheWay.what}`, 'restore into an empty --output directory');
    }
    return parts.length === 0 ? this.root : join(this.root, ...parts);
  }

  /** The output's directory of these name parts, made as needed; or what is in the way of it. */
  private makeDirectory(parts: readonly string[]): { dir: string; what: string } | undefined {
    let dir = this.root;
    for (let i = 0; i < parts.length; i++) {
      dir = join(dir, parts[i]!);
      if (this.verified.has(dir)) continue;
      let stat;
      const rel = parts.slice(0, i + 1).join('/');
      try {
        stat = lstatSync(dir);
      } catch {
        if (mkdirForUser(dir)) this.made.set(dir, madeDirectory(dir, rel));
        this.verified.set(dir, ownerOf(lstatSync(dir)));
        continue;
      }
      if (!stat.isDirectory()) return { dir, what: stat.isSymbolicLink() ? 'a symlink' : 'not a directory' };
      this.verified.set(dir, ownerOf(stat));
      if (this.force && !this.made.has(dir)) this.existing.set(dir, madeDirectory(dir, rel));
    }
    return undefined;
  }

  /**
   * The directories whose metadata this restore sets, deepest first (a directory's metadata goes on after its
   * contents'): those it made, and with --force those already there (so running an interrupted restore
   * again with --force finishes what the first one never reached).
   */
  ownDeepestFirst(): (MadeDirectory & { abs: string })[] {
    const depth = (rel: string): number => (rel === '' ? 0 : rel.split('/').length);
    return [...this.made, ...this.existing].map(([abs, m]) => ({ abs, ...m })).sort((a, b) => depth(b.rel) - depth(a.rel));
  }
}

/** A directory of the output refusing a mkdir (read-only, not ours), said in the user's terms. */
function inUserTerms<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    const code = errnoCode(err);
    const path = err instanceof Error && 'path' in err && typeof err.path === 'string' ? err.path : undefined;
    if (path !== undefined && (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')) {
      throw userError(`cannot write into ${dirname(path)} (${code})`, 'restore elsewhere with --output');
    }
    throw err;
  }
}

interface MadeDirectory {
  readonly rel: string;
  readonly dev: bigint;
  readonly ino: bigint;
}
function madeDirectory(abs: string, rel: string): MadeDirectory {
  const st = lstatSync(abs, { bigint: true });
  return { rel, dev: st.dev, ino: st.ino };
}

const euid = process.geteuid?.() ?? -1;
const egid = process.getegid?.() ?? -1;

interface Owner {
  readonly uid: number;
  readonly gid: number;
}
const ownerOf = (st: Stats): Owner => ({ uid: st.uid, gid: st.gid });

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
 * A file deleted (by `atIso`, when given) whose name has files below it now was replaced by a directory:
 * the name means the directory, unless a version of the file is asked for.
 */
export function isTreeRestore(ctx: Context, abs: string, asked: { readonly atIso?: string; readonly versionOfFile: boolean }): boolean {
  const { directory, name } = locateDirectory(ctx, abs);
  if (name === '') return true;
  const q = ctx.store.queries;
  const file = q.findFileByPath(directory, name);
  if (!file) return hasFilesUnder(ctx, directory, name) || q.directoryMeta.anyUnder(directory, name, asked.atIso);
  if (!file.deleted || asked.versionOfFile) return false;
  const deletedByThen = asked.atIso === undefined || q.lastDeletion(file.id, asked.atIso) !== undefined;
  // Names after `name` itself in the page order are the ones below it (`name/...`).
  return deletedByThen && q.trackedPage(directory, name, name, 1).length > 0;
}

/** Deleted as of then (the deletion came after the version we would restore) and not asked for. */
const leftOutAsDeleted = (opts: TreeRestoreOptions, stagedAt: string, deletedAt: string | null): boolean =>
  deletedAt !== null && deletedAt >= stagedAt && !opts.deleted;

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
  const limit = pLimit(Math.max(1, ctx.config.backup.concurrency));
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
  const vaults = await ctx.vaults();
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

  const pool = new RestorePool();
  try {
    // While the workers write one page, this thread reads and prepares the next (at most two in memory).
    for (let current = preparePage(''); current !== null; ) {
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
  return { source: abs, output: opts.output, at, files, bytes, deletedSkipped, failed, damaged, warnings: [...warnings] };
}
