// Turning what the user typed into absolute host paths, and tracked paths into directory-relative names.
import { lstatSync, realpathSync } from 'node:fs';
import { basename, dirname, relative, resolve, sep } from 'node:path';
import { errnoCode, integrityError, usageError, userError } from '../core/errors.js';

/** Whether absolute `path` is `dir` or lies below it. */
export const isUnder = (path: string, dir: string): boolean => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * The absolute path of `input` (relative to `cwd`), with symlinks in its parent resolved so it matches how
 * tracked directories are stored. The last component is kept as is: a symlink is recorded, not followed.
 */
export function resolveUserPath(input: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, nonEmpty(input));
  if (abs === '/') return abs;
  try {
    return resolve(realpathSync(dirname(abs)), basename(abs));
  } catch {
    return abs;
  }
}

/** An empty argument (`bt add ""`, an unset shell variable) is a mistake, not the current directory. */
function nonEmpty(input: string): string {
  if (input === '') throw usageError('an empty path was given', 'name a path (`.` is the current directory)');
  return input;
}

/** A directory path with symlinks resolved (tracked directories are stored this way). */
export function realDirectory(input: string, cwd = process.cwd()): string {
  const abs = resolve(cwd, nonEmpty(input));
  try {
    return realpathSync(abs);
  } catch {
    throw userError(`no such directory: ${abs}`);
  }
}

/** The '/'-separated name of `abs` inside `root` ('' for root itself). */
export function nameWithin(root: string, abs: string): string {
  const rel = relative(root, abs);
  return sep === '/' ? rel : rel.split(sep).join('/');
}

export const joinName = (root: string, name: string): string => (name === '' ? root : root === '/' ? `/${name}` : `${root}/${name}`);

/**
 * Whether a tracked file (or symlink) at `path` is gone: nothing is there, or a directory (its files are
 * tracked under their own names), a FIFO, a socket or a device took its place (bt passes those over). A path that cannot be looked at (a directory on the way
 * is unreadable) is not gone: a file bt cannot see must not be recorded as deleted.
 */
export function isGoneAsFile(path: string): boolean {
  try {
    // A directory, FIFO, socket or device in its place: the file bt backed up is gone.
    const st = lstatSync(path);
    return !st.isFile() && !st.isSymbolicLink();
  } catch (err) {
    const code = errnoCode(err);
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
}

/**
 * True when `name` under `root` is no longer a real directory: gone, something else, or reached through
 * something that is not one (a directory replaced by a symlink to another is gone, and all below it). An
 * error other than "not there" (EACCES, ELOOP, EIO) tells nothing: false, as for files.
 */
export function isGoneAsDirectory(root: string, name: string): boolean {
  const parts = name === '' ? [] : name.split('/');
  for (let i = 0; i <= parts.length; i++) {
    try {
      if (!lstatSync(joinName(root, parts.slice(0, i).join('/'))).isDirectory()) return true;
    } catch (err) {
      const code = errnoCode(err);
      return code === 'ENOENT' || code === 'ENOTDIR';
    }
  }
  return false;
}

/** Whether anything (file, link, directory) is at `path`, without following a final symlink. */
export function pathExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * `root/name` for a name that came from the journal (which a tampered vault could have written): refuses
 * absolute names, empty, '.' and '..' components and NUL, so a restore never writes outside `root`.
 */
export function safeJoin(root: string, name: string): string {
  const parts = name.split('/');
  if (name.startsWith('/') || name.includes('\u0000') || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw integrityError(`refusing to restore "${name}": it would leave the target directory`, 'the journal holds a path it should not; run `bt journal verify`');
  }
  return joinName(root, name);
}

/**
 * Orders names by code point, which is the order of their UTF-8 bytes and so SQLite's (BINARY collation):
 * JavaScript's `<` compares UTF-16 units, which puts U+10000 and above before U+E000..U+FFFF.
 */
export function compareNames(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (U+D800..U+DFFF) stand for code points above U+FFFF: move them above U+E000..U+FFFF.
    if (x >= 0xd800) x += x >= 0xe000 ? -0x800 : 0x2000;
    if (y >= 0xd800) y += y >= 0xe000 ? -0x800 : 0x2000;
    return x - y;
  }
  return a.length - b.length;
}
