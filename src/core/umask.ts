import { chmodSync } from 'node:fs';
import { dirname } from 'node:path';
import { makeDirs } from '../fs/make-dirs.js';

// bt runs with umask 077 so its own files are owner-only; files it restores for the user use the user's umask.
let userUmask = 0o022;

/** Called once at start-up: remembers the user's umask and makes bt's own files private. */
export function makeOwnFilesPrivate(): void {
  userUmask = process.umask(0o077);
}

/** The mode a new file would get from the user's own umask. */
export const defaultFileMode = (): number => 0o666 & ~userUmask;

/**
 * Creates a directory (and parents) with the mode the user's umask gives, not bt's private one. True when
 * `path` did not exist before (so it was empty when made).
 */
export function mkdirForUser(path: string): boolean {
  const first = makeDirs(path);
  if (first === undefined) return false;
  for (let dir = path; ; dir = dirname(dir)) {
    chmodSync(dir, 0o777 & ~userUmask);
    if (dir === first || dir === dirname(dir)) break;
  }
  return true;
}
