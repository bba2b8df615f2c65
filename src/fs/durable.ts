// Durability in batches: one syncfs for many files instead of an fsync each (see docs/adr/0006).
import { execFile } from 'node:child_process';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
let syncfsWorks: boolean | undefined = process.platform === 'linux' ? undefined : false;

/**
 * Makes every write so far to the filesystem holding `path` durable. On Linux one `sync -f` (syncfs)
 * covers a whole batch; elsewhere each listed file and its directory is fsynced.
 */
export async function flushFilesystem(path: string, files: readonly string[]): Promise<void> {
  if (files.length === 0) return;
  if (syncfsWorks !== false) {
    try {
      await run('sync', ['-f', path]);
      syncfsWorks = true;
      return;
    } catch {
      syncfsWorks = false;
    }
  }
  const dirs = new Set<string>();
  for (const file of files) {
    await fsyncPath(file);
    dirs.add(dirname(file));
  }
  for (const dir of dirs) await fsyncPath(dir);
}

export async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
