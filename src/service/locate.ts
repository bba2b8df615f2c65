// From a path the user typed to the tracked directory and file record it names.
import { lstatSync, realpathSync } from 'node:fs';
import { userError } from '../core/errors.js';
import { nameWithin } from '../fs/paths.js';
import type { Directory, FileRecord } from '../projections/queries.js';
import type { Context } from './context.js';

export function locateDirectory(ctx: Context, abs: string): { directory: Directory; name: string } {
  const q = ctx.store.queries;
  const directory = q.searchDirectoryForPath(abs);
  if (directory) return { directory, name: nameWithin(directory.path, abs) };
  // Outside every tracked directory, a symlink is no entry of one: it is a way to one (`bt dir init Docs`
  // tracked where Docs points), so it is followed.
  const real = symlinkTarget(abs);
  const reached = real === undefined ? undefined : q.searchDirectoryForPath(real);
  if (real !== undefined && reached) return { directory: reached, name: nameWithin(reached.path, real) };
  throw userError(`${abs} is not inside a tracked directory`, notTrackedHint(ctx));
}

function symlinkTarget(abs: string): string | undefined {
  try {
    return lstatSync(abs).isSymbolicLink() ? realpathSync(abs) : undefined;
  } catch {
    return undefined;
  }
}

/** Which directories are tracked: after `bt recover` on a new machine they are the old machine's paths. */
function notTrackedHint(ctx: Context): string {
  const tracked = ctx.store.queries.listDirectories().map((d) => d.path);
  const init = 'run `bt dir init` in the directory you want to back up';
  if (tracked.length === 0) return init;
  const shown = tracked.slice(0, 5).join(', ') + (tracked.length > 5 ? ` and ${tracked.length - 5} more` : '');
  return `tracked here: ${shown}; or ${init}`;
}

export function locateFile(ctx: Context, abs: string): { directory: Directory; name: string; file: FileRecord } {
  const { directory, name } = locateDirectory(ctx, abs);
  const file = name === '' ? undefined : ctx.store.queries.findFileByPath(directory, name);
  if (!file && hasFilesUnder(ctx, directory, name)) throw userError(`${abs} is a directory, not a file`, 'name a file in it (`bt dir status` lists them)');
  if (!file) throw userError(`${abs} has no backup history`, 'stage it with `bt add` and store it with `bt backup`');
  return { directory, name, file };
}

/** Whether bt knows any file (deleted or not) below `name` ('' for the tracked directory itself). */
export function hasFilesUnder(ctx: Context, directory: Directory, name: string): boolean {
  return ctx.store.queries.trackedPage(directory, name, '', 1).length > 0;
}
