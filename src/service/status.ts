// `bt dir status`: how each file under a path compares with its last snapshot and its staged version.
import { sameStat } from '../fs/meta.js';
import { userError } from '../core/errors.js';
import { isGoneAsFile, joinName, nameWithin, pathExists } from '../fs/paths.js';
import type { NamedTrackedFile } from '../projections/queries.js';
import type { Context } from './context.js';
import { DirectoryChanges } from './directory-changes.js';
import { KnownFiles } from './known-files.js';
import { locateDirectory } from './locate.js';
import { walkTracked } from './tracked-walk.js';

export type FileState =
  /** Unchanged since its last snapshot. */
  | 'backed-up'
  /** A version is staged and the file has not changed since. */
  | 'staged'
  /** Changed since its last snapshot or staged version: `bt add` would stage it. */
  | 'modified'
  /** Never staged. */
  | 'untracked'
  /** Gone from disk, not yet recorded: `bt add` would record the deletion. */
  | 'missing'
  /** Backed up or staged before, still there, now left out by an ignore rule: its changes are not backed up. */
  | 'ignored'
  /** Recorded as deleted; its versions stay restorable. */
  | 'deleted';

export interface FileStatus {
  readonly name: string;
  readonly state: FileState;
  /** A version waits in the staging area for `bt backup`. */
  readonly pending: boolean;
  readonly backedUp: boolean;
}

/** What `bt add` would record of a directory: new to bt, its mode, owner or mtime changed, or removed. */
export type DirectoryState = 'new' | 'changed' | 'removed';

export interface StatusResult {
  readonly directory: string;
  readonly files: readonly FileStatus[];
  /** Directories whose change `bt add` would record, by name ('' for the tracked directory itself). */
  readonly directories: readonly { readonly name: string; readonly state: DirectoryState }[];
  /** What `bt add` would skip and report (unreadable, a name that is not valid UTF-8), with why. */
  readonly skipped: readonly { readonly path: string; readonly reason: string }[];
}

/**
 * Walks the tree beside the tracked files read a page at a time (KnownFiles): memory holds the answer, one
 * small record per file, not every tracked file's row as well.
 */
export function directoryStatus(ctx: Context, abs: string, opts: { deleted: boolean }): StatusResult {
  const { directory, name: start } = locateDirectory(ctx, abs);
  const files: FileStatus[] = [];
  // A tracked file the walk did not name: recorded deleted, gone from disk, or only ignored or unreadable now.
  const passed = (k: NamedTrackedFile): void => {
    if (!k.current && !k.staged) return;
    const pending = k.staged != null;
    const backedUp = k.current != null;
    if (k.deleted) {
      if (opts.deleted) files.push({ name: k.name, state: 'deleted', pending, backedUp });
      return;
    }
    if (isGoneAsFile(joinName(directory.path, k.name))) files.push({ name: k.name, state: 'missing', pending, backedUp });
    // Still there: left out by an ignore rule now (unreadable ones are listed as skipped). git would go on
    // tracking it; bt at least says that its changes are no longer backed up.
    else if (!underSkipped(k.name)) files.push({ name: k.name, state: 'ignored', pending, backedUp });
  };
  const underSkipped = (name: string): boolean => {
    for (let at = name.length; at > 0; at = name.lastIndexOf('/', at - 1)) if (skippedNames.has(name.slice(0, at))) return true;
    return false;
  };
  const skippedNames = new Set<string>();
  const known = new KnownFiles(ctx.store.queries, directory, start, passed);
  const dirs = new DirectoryChanges(ctx.store.queries, directory, start);
  // Read-only: a tracked directory that is gone lists its files as missing (after a recovery on a new
  // machine, say); one replaced by something else is refused, as `bt add` refuses it.
  const skipped: { path: string; reason: string }[] = [];
  const notice = (n: { path: string; reason: string; skipped: boolean }): void => {
    // Named as the files are, relative to the tracked directory.
    if (!n.skipped) return;
    const name = nameWithin(directory.path, n.path) || '.';
    skipped.push({ path: name, reason: n.reason });
    skippedNames.add(name);
  };
  for (const entry of walkTracked(ctx, directory.path, start, notice, dirs.seen, { goneIsEmpty: true })) {
    const k = known.lookup(entry.name);
    const backedUp = k?.current != null;
    const pending = k?.staged != null;
    let state: FileState;
    if (!k || (!k.current && !k.staged)) state = 'untracked';
    else if (k.staged) state = sameStat(entry.stat, k.staged.stat) ? 'staged' : 'modified';
    else state = !k.deleted && k.current && sameStat(entry.stat, k.current) ? 'backed-up' : 'modified';
    files.push({ name: entry.name, state, pending, backedUp });
  }
  known.finish();
  const { changed, removed } = dirs.finish();
  // As `bt add` says it: a path bt knows nothing of, and not on disk either.
  if (files.length === 0 && !dirs.anyRecorded && !pathExists(abs)) throw userError(`no such file or directory: ${abs}`);
  const directories = [
    ...changed.map((d) => ({ name: d.name, state: d.isNew ? ('new' as const) : ('changed' as const) })),
    ...removed.map((name) => ({ name, state: 'removed' as const })),
  ];
  files.sort(byName);
  directories.sort(byName);
  return { directory: directory.path, files, directories, skipped };
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
