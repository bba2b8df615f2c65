// Writing files so they appear whole or not at all: temp file, fsync, rename, fsync the directory.
import { crypto } from '../core/lazy-builtin.js';
import { open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { fsyncPath } from './durable.js';

export const tempNameFor = (path: string): string =>
  join(dirname(path), `.${basename(path)}.bt-tmp-${crypto().randomBytes(6).toString('hex')}`);

export async function writeFileAtomic(path: string, data: Buffer, mode = 0o600): Promise<void> {
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
  await rename(tmp, path);
  await fsyncPath(dirname(path));
}
