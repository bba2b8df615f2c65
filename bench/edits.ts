// Deterministic large files and the edits the chunking figures are about; shared by the benchmark and the
// chunking tests, streaming so a 1 GiB file never sits in memory.
import { closeSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { keystream } from './corpus.js';

const MiB = 1024 * 1024;

/** Writes `size` deterministic incompressible bytes (the keystream, 8 MiB at a time). */
export function writeKeystream(path: string, size: number, seed: number): void {
  const fd = openSync(path, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += 8 * MiB, i++) writeSync(fd, keystream(seed * 100_000 + i, Math.min(8 * MiB, size - off)));
  } finally {
    closeSync(fd);
  }
}

/** Rewrites a file with `insert` placed at `at`. */
export function insertAt(path: string, at: number, insert: Buffer): void {
  const tmp = `${path}.tmp`;
  const src = openSync(path, 'r');
  const dst = openSync(tmp, 'w');
  try {
    const buf = Buffer.allocUnsafe(8 * MiB);
    for (let pos = 0; ; ) {
      const n = readSync(src, buf, 0, pos < at ? Math.min(buf.length, at - pos) : buf.length, pos);
      if (n === 0) break;
      writeSync(dst, buf, 0, n);
      pos += n;
      if (pos === at) writeSync(dst, insert);
    }
  } finally {
    closeSync(src);
    closeSync(dst);
  }
  renameSync(tmp, path);
}

/** Overwrites bytes in place at `at` (at the end: an append). */
export function writeAt(path: string, at: number, bytes: Buffer): void {
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, bytes, 0, bytes.length, at);
  } finally {
    closeSync(fd);
  }
}
