// Opening the user's files to back them up: never through a symlink, and without touching their access
// time where the kernel allows it (O_NOATIME, Linux, files one owns). Backing up is not using, and the
// atime bt records is the one the user left, as restic does.
import { constants, openSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { errnoCode } from '../core/errors.js';

const READ = constants.O_RDONLY | constants.O_NOFOLLOW;
/** 0 where there is no such flag. */
const NOATIME = constants.O_NOATIME ?? 0;

export function openSourceSync(path: string): number {
  if (NOATIME !== 0) {
    try {
      return openSync(path, READ | NOATIME);
    } catch (err) {
      if (errnoCode(err) !== 'EPERM') throw err;
    }
  }
  return openSync(path, READ);
}

export async function openSource(path: string): Promise<FileHandle> {
  if (NOATIME !== 0) {
    try {
      return await open(path, READ | NOATIME);
    } catch (err) {
      if (errnoCode(err) !== 'EPERM') throw err;
    }
  }
  return open(path, READ);
}
