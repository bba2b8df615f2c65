// Bounded memory: `bt add` and `bt backup` of one 10 GiB sparse file; peak RSS must stay flat.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { type Measured, freshBt } from './measure.js';

export interface HugeFigures {
  readonly bytes: number;
  readonly add: Measured;
  readonly backup: Measured;
}

export function benchHuge(work: string, size = 10 * 1024 ** 3): HugeFigures {
  const root = join(work, 'huge');
  const dir = join(root, 'tree');
  mkdirSync(dir, { recursive: true });
  // Sparse: holes read as zeros without touching the disk; a few written blocks make it not all zeros.
  const fd = openSync(join(dir, 'huge.bin'), 'w');
  for (let off = 0; off < size; off += 1024 ** 3) writeSync(fd, Buffer.from(`block at ${off}\n`), 0, undefined, off);
  writeSync(fd, Buffer.from('end\n'), 0, undefined, size - 4);
  closeSync(fd);
  const bt = freshBt(root, dir);
  const add = bt('add', '.');
  const backup = bt('backup');
  rmSync(root, { recursive: true, force: true });
  return { bytes: size, add, backup };
}
