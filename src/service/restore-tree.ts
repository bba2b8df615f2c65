// `bt restore DIR --output OUT`: every file under a tracked directory as of a time, with its layout and metadata.
import { lstatSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { describeError, integrityError, userError } from '../core/errors.js';
import { isoTime } from '../core/ids.js';
import { parseUserTime } from '../core/time.js';
import { defaultFileMode, mkdirForUser } from '../core/umask.js';
import { pathExists, safeJoin } from '../fs/paths.js';
import type { RestoredMeta, SmallRestoreJob } from '../fs/restore-file.js';
import { RestorePool } from '../fs/restore-pool.js';
import type { Snapshot } from '../projections/queries.js';
import type { Context } from './context.js';
import { locateDirectory } from './locate.js';
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
  readonly warnings: readonly string[];
}

/**
 * Creates the directories between the output root and a file, refusing to go through a symlink: a journal
 * holding both `a -> /etc` and `a/passwd` must not write /etc/passwd.
 */
function prepareParents(root: string, rel: string, verified: Set<string>): void {
  const parts = rel.split('/').slice(0, -1);
  let dir = root;
  for (const part of parts) {
    dir = join(dir, part);
    if (verified.has(dir)) continue;
    let stat;
    try {
      stat = lstatSync(dir);
    } catch {
      mkdirForUser(dir);
      verified.add(dir);
      continue;
    }
    if (!stat.isDirectory()) {
      throw integrityError(`refusing to restore ${rel}: ${dir} is ${stat.isSymbolicLink() ? 'a symlink' : 'not a directory'}`);
    }
    verified.add(dir);
  }
}

/** Where a file of the tree goes: inside the output, not over an existing file (without --force), parents made. */
function checkedTarget(opts: TreeRestoreOptions, rel: string, made: Set<string>): string {
  const target = safeJoin(opts.output, rel);
  if (pathExists(target) && !opts.force) throw userError(`${target} already exists`, 'use --force to overwrite');
  prepareParents(opts.output, rel, made);
  return target;
}

/** Only what a worker needs: the snapshot row is cloned into its message. */
const restoredMeta = (s: Snapshot): RestoredMeta => ({ kind: s.kind, mode: s.mode, uid: s.uid, gid: s.gid, atime_ns: s.atime_ns, mtime_ns: s.mtime_ns });

/** Files up to this size are read whole into memory by a restore worker (as the vault's own small path does). */
const SMALL_FILE = 4 << 20;

/** True when `abs` names no file record but has backed-up files below it (a directory restore). */
export function isTreeRestore(ctx: Context, abs: string): boolean {
  const { directory, name } = locateDirectory(ctx, abs);
  if (name !== '' && ctx.store.queries.findFileByPath(directory, name)) return false;
  return true;
}

/** Deleted as of then (the deletion came after the version we would restore) and not asked for. */
const leftOutAsDeleted = (opts: TreeRestoreOptions, stagedAt: string, deletedAt: string | null): boolean =>
  deletedAt !== null && deletedAt >= stagedAt && !opts.deleted;

/** Files per page: the tree is read and restored a page at a time, so memory does not grow with its size. */
const PAGE = 1000;

type Chosen = { readonly rel: string; readonly snapshot: Snapshot };
type ContentHolders = ReadonlyMap<string, ReadonlySet<string>>;

export function restoreTree(ctx: Context, abs: string, opts: TreeRestoreOptions): Promise<TreeRestoreResult> {
  // The tree is read in pages: all of them from one view, whatever another bt commits meanwhile.
  return ctx.store.readSnapshot(() => restoreTreeAsOf(ctx, abs, opts));
}

async function restoreTreeAsOf(ctx: Context, abs: string, opts: TreeRestoreOptions): Promise<TreeRestoreResult> {
  const { directory, name: prefix } = locateDirectory(ctx, abs);
  const at = opts.at === undefined ? isoTime(ctx.clock.now()) : isoTime(parseUserTime(opts.at, '--at'));
  const q = ctx.store.queries;
  // Counted first (times only): progress gets its total, and an empty tree fails before anything is made.
  let total = 0;
  let any = false;
  for (const v of q.versionTimesAsOf(directory, prefix, at)) {
    any = true;
    if (!leftOutAsDeleted(opts, v.stagedAt, v.deletedAt)) total++;
  }
  if (!any) throw userError(`nothing under ${abs} was backed up as of ${at}`, 'see `bt dir status` and `bt log`');

  const failed: { path: string; reason: string }[] = [];
  const warnings = new Set<string>();
  let files = 0;
  let bytes = 0;
  let deletedSkipped = 0;
  const limit = pLimit(Math.max(1, ctx.config.backup.concurrency));
  const made = new Set<string>();
  mkdirForUser(opts.output);
  const restored = (snapshot: Snapshot): void => {
    files++;
    bytes += snapshot.size;
    ctx.reporter.progress?.({ phase: 'restoring', files, totalFiles: total, bytes });
  };
  const fail = (rel: string, err: unknown): void => {
    failed.push({ path: rel, reason: describeError(err) });
    ctx.reporter.notice(`${rel}: ${describeError(err)}`);
  };
  const restoreOne = async ({ rel, snapshot }: Chosen, holders?: ContentHolders): Promise<void> => {
    try {
      const target = checkedTarget(opts, rel, made);
      const r = await materialize(ctx, snapshot, target, opts.contentOnly, holders);
      for (const w of r.warnings) warnings.add(w);
      restored(snapshot);
    } catch (err) {
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
  const pool = new RestorePool();
  try {
    for (let after = '', page; (page = q.versionsAsOf(directory, prefix, at, after, PAGE)).length > 0; after = page[page.length - 1]!.name) {
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
          const target = checkedTarget(opts, c.rel, made);
          fast.push({ c, job: { object, checksum: c.snapshot.content_id!, target, meta: opts.contentOnly ? null : restoredMeta(c.snapshot), plainMode } });
        } catch (err) {
          fail(c.rel, err);
        }
      }
      const outcomes = await pool.run(fast.map((f) => f.job));
      for (const [k, { c }] of fast.entries()) {
        const o = outcomes[k]!;
        if (o.kind === 'done') {
          for (const w of o.warnings) warnings.add(w);
          restored(c.snapshot);
        } else if (o.kind === 'failed') {
          failed.push({ path: c.rel, reason: o.reason });
          ctx.reporter.notice(`${c.rel}: ${o.reason}`);
        } else {
          general.push(c);
        }
      }
      await Promise.all(general.map((c) => limit(() => restoreOne(c, holders))));
    }
  } finally {
    await pool.close();
  }
  // Symlinks last: no file of this restore is ever written through a link it restored. (Only they are kept
  // across pages; they hold no content.)
  for (const link of symlinks) await restoreOne(link);
  failed.sort((a, b) => (a.path < b.path ? -1 : 1));
  return { source: abs, output: opts.output, at, files, bytes, deletedSkipped, failed, warnings: [...warnings] };
}
