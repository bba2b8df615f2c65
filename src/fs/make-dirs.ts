// `mkdir -p` that always ends. Node 20's mkdirSync(path, { recursive: true }) loops forever where a
// directory cannot be made in a parent that exists (mkdir gives ENOENT there, as in /proc): it makes the
// parent (EEXIST), retries the child (ENOENT), and so on. Every path a user names goes through this instead.
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { errnoCode, userError } from '../core/errors.js';

/**
 * Creates `path` and any missing parents with `mode` (subject to the umask, like mkdir). Returns the first
 * directory it created, or undefined when `path` was already a directory, as mkdirSync's recursive form
 * does. Where it cannot (a file or a dangling link in the way, a filesystem that refuses), a user error
 * that says why; other failures (permissions, a full disk) as they come.
 */
export function makeDirs(path: string, mode = 0o777): string | undefined {
  try {
    return makeOne(path, mode);
  } catch (err) {
    const parent = dirname(path);
    if (errnoCode(err) === 'ENOTDIR') throw userError(`cannot create directory ${path}: a file is in the way above it`, 'move that file, or choose another path');
    if (errnoCode(err) !== 'ENOENT' || parent === path) throw err;
    const first = makeDirs(parent, mode);
    let made;
    try {
      made = makeOne(path, mode);
    } catch (again) {
      // Once: a second ENOENT with the parent in place is the filesystem refusing, not a race to retry.
      if (errnoCode(again) !== 'ENOENT') throw again;
      throw userError(`cannot create directory ${path}: its filesystem does not allow it`, 'choose a directory on a disk that holds files');
    }
    return first ?? made;
  }
}

/** mkdir of one directory: its path when made, undefined when a directory is already there. */
function makeOne(path: string, mode: number): string | undefined {
  try {
    mkdirSync(path, { mode });
    return path;
  } catch (err) {
    if (errnoCode(err) !== 'EEXIST') throw err;
    const target = statSync(path, { throwIfNoEntry: false });
    if (target?.isDirectory()) return undefined;
    if (!target) throw userError(`cannot create directory ${path}: it is a link to something that does not exist`, 'remove the link, or create what it points to');
    throw userError(`cannot create directory ${path}: a file is in the way`, 'move it, or choose another path');
  }
}
