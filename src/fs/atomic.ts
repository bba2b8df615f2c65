// Writing files so they appear whole or not at all: temp file, fsync, rename, fsync the directory.
import { crypto } from '../core/lazy-builtin.js';
import { link, open, rename, rm } from 'node:fs/promises';
import { errnoCode } from '../core/errors.js';
import { basename, dirname, join } from 'node:path';
import { fsyncPath } from './durable.js';

export const tempNameFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.bt-tmp-${crypto().randomBytes(6).toString('hex')}`);

export async function writeFileAtomic(path: string, data: Buffer, mode = 0o600): Promise<void> {
  const tmp = await durableTemp(path, data, mode);
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}

/**
 * Like writeFileAtomic, but never replaces a file already at `path`: false when one is there (another
 * writer's, made between a caller's look and this write). The temp file is hard-linked into place, which
 * fails as a whole when the name is taken; where links are not supported (FAT, exFAT, some FUSE and
 * network filesystems) it is renamed after one more look, which narrows that window but cannot close it.
 * `linkFile` is for tests.
 */
export async function writeFileExclusive(path: string, data: Buffer, mode = 0o600, linkFile = link): Promise<boolean> {
  const tmp = await durableTemp(path, data, mode);
  try {
    try {
      await linkFile(tmp, path);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EEXIST') return false;
      if (code === undefined || !NO_LINKS.has(code)) throw err;
      if (await open(path, 'r').then((h) => h.close().then(() => true), () => false)) return false;
      await rename(tmp, path);
    }
    await fsyncPath(dirname(path));
    return true;
  } finally {
    await rm(tmp, { force: true });
  }
}

/** What a filesystem that has no hard links answers a link with. */
const NO_LINKS = new Set(['EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'ENOSYS', 'EXDEV']);

/** `data` in a new temporary file beside `path`, on disk. */
async function durableTemp(path: string, data: Buffer, mode: number): Promise<string> {
  const tmp = tempNameFor(path);
  const handle = await open(tmp, 'wx', mode);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  return tmp;
}
