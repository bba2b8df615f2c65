// Deterministic benchmark data: the same bytes on every run (AES-CTR keystream from a fixed key).
import { createCipheriv } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Incompressible, deterministic bytes: the keystream of AES-128-CTR for (seed, length). */
export function keystream(seed: number, length: number): Buffer {
  const key = Buffer.alloc(16, 0x5a);
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed >>> 0, 0);
  return createCipheriv('aes-128-ctr', key, iv).update(Buffer.alloc(length));
}

/** 20,000 files of 1-32 KiB in a nested tree (20 x 10 dirs of 100 files), about 10% duplicates. */
export function makeSmallCorpus(root: string, files = 20_000): { files: number; bytes: number } {
  const done = join(root, '.complete');
  if (existsSync(done)) return JSON.parse(readFileSync(done, 'utf8')) as { files: number; bytes: number };
  let bytes = 0;
  const sizes: number[] = [];
  for (let i = 0; i < files; i++) {
    const dir = join(root, `d${String(Math.floor(i / 1000)).padStart(2, '0')}`, `s${Math.floor(i / 100) % 10}`);
    if (i % 100 === 0) mkdirSync(dir, { recursive: true });
    // Sizes 1..32 KiB from a cheap deterministic sequence.
    const size = 1024 + (((i * 2654435761) >>> 0) % (31 * 1024));
    sizes.push(size);
    // Every tenth file repeats the bytes of an earlier one.
    const data = i % 10 === 9 ? keystream(i - 7, sizes[i - 7]!) : keystream(i, size);
    writeFileSync(join(dir, `f${String(i).padStart(5, '0')}.dat`), data);
    bytes += data.length;
  }
  const summary = { files, bytes };
  writeFileSync(done, JSON.stringify(summary));
  return summary;
}

/** Two 1 GiB files of incompressible data plus an exact copy of one. */
export function makeLargeCorpus(root: string, size = 1 << 30): { files: number; bytes: number } {
  const done = join(root, '.complete');
  if (existsSync(done)) return { files: 3, bytes: 3 * size };
  mkdirSync(root, { recursive: true });
  for (const [name, seed] of [['one.bin', 1001], ['two.bin', 2002]] as const) {
    const fd = openSync(join(root, name), 'w');
    const chunk = 8 << 20;
    for (let off = 0; off < size; off += chunk) {
      const n = Math.min(chunk, size - off);
      // Distinct IV per chunk keeps the generator streaming (no 1 GiB buffer).
      writeSync(fd, keystream(seed * 100_000 + off / chunk, n));
    }
    closeSync(fd);
  }
  copyFileSync(join(root, 'one.bin'), join(root, 'one-copy.bin'));
  writeFileSync(done, '');
  return { files: 3, bytes: 3 * size };
}
