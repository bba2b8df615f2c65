// The walk of a tracked directory, as every scan of one does it (add, status).
import { lstatSync, readdirSync } from 'node:fs';
import { errnoCode, userError } from '../core/errors.js';
import { IgnoreRules } from '../fs/ignore-rules.js';
import { type WalkEntry, type WalkOptions, walk } from '../fs/walk.js';
import type { Context } from './context.js';
import { btOwnPaths } from './own-paths.js';

/**
 * Files under `start` of the tracked directory `root`: the config's ignore rules apply, bt's own directories
 * are left out. Refuses a root that is gone or no longer a directory: walked, it would read as every file
 * deleted (a disk not mounted, a directory moved away and a symlink put in its place).
 */
export function walkTracked(
  ctx: Context,
  root: string,
  start: string,
  notice: WalkOptions['notice'],
  onDirectory?: WalkOptions['onDirectory'],
  opts: { readonly goneIsEmpty?: boolean } = {},
): Generator<WalkEntry> {
  checkTrackedRoot(root, opts.goneIsEmpty === true);
  const rules = IgnoreRules.global(ctx.config.fs.ignore);
  return walk({ root, start, rules, exclude: new Set(btOwnPaths(ctx.config)), notice, ...(onDirectory ? { onDirectory } : {}) });
}

function checkTrackedRoot(root: string, goneIsEmpty: boolean): void {
  let isDirectory: boolean;
  let what = 'file';
  try {
    const stat = lstatSync(root);
    isDirectory = stat.isDirectory();
    if (stat.isSymbolicLink()) what = 'symlink';
  } catch (err) {
    const code = errnoCode(err);
    // Anything else (EACCES) is the walk's to report, as for any directory it cannot read.
    if ((code !== 'ENOENT' && code !== 'ENOTDIR') || goneIsEmpty) return;
    throw userError(
      `the tracked directory ${root} is gone (moved, deleted, or on a disk that is not mounted); nothing was recorded`,
      'put it back (mount the disk, or `bt restore` it on a new machine) and run the command again; only if it was deleted on purpose, create it empty and `bt add` records the deletions',
    );
  }
  if (!isDirectory) {
    throw userError(`the tracked directory ${root} is no longer a directory (a ${what} is in its place)`, 'put the directory back and run the command again');
  }
}

/**
 * A disk that is not mounted leaves its mount point behind: an empty directory, on the filesystem below it.
 * Walked, it would read as every file deleted. An empty tracked directory on another device than its
 * backed-up files were on is refused (files deleted on purpose leave the directory on its own device).
 */
export function refuseUnmountedRoot(root: string, recordedDevice: string | undefined): void {
  if (recordedDevice === undefined) return;
  let dev: bigint;
  let empty: boolean;
  try {
    dev = lstatSync(root, { bigint: true }).dev;
    if (String(dev) === recordedDevice) return;
    empty = readdirSync(root).length === 0;
  } catch {
    return; // gone or unreadable: checkTrackedRoot and the walk say so
  }
  if (empty) {
    throw userError(
      `the tracked directory ${root} is empty and on another filesystem than its backed-up files (a disk that is not mounted?); nothing was recorded`,
      'mount the disk it lives on and run the command again',
    );
  }
}
