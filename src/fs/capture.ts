// Captures a file into the staging area in one pass: every byte read once, hashed and written together.
import { createHash } from 'node:crypto';
import { type BigIntStats, closeSync, constants, fstatSync, openSync, readSync, writeSync } from 'node:fs';
import { copyFile, lstat, open } from 'node:fs/promises';
import { errnoCode } from '../core/errors.js';
import { contentMayDiffer } from './meta.js';

export type CaptureResult =
  | { readonly ok: true; readonly contentId: string; readonly stat: BigIntStats }
  | { readonly ok: false; readonly reason: 'changed' };

/** Files up to this size are read with one synchronous read: per-file overhead decides small-file speed. */
const SMALL = 1 << 20;
const CHUNK = 1 << 20;

/**
 * Copies `src` to `dest` (created, must not exist) while hashing it. The result is 'changed' when the file
 * was modified during the read, so the caller can retry rather than stage a torn copy.
 */
export async function captureFile(src: string, dest: string, expected: BigIntStats): Promise<CaptureResult> {
  const before = expected;
  if (before.size <= BigInt(SMALL)) return captureSmall(src, dest, before);
  const cloned = await captureByClone(src, dest, before);
  if (cloned) return cloned;
  return captureLarge(src, dest, before);
}

/** Whether copy-on-write clones worked here; after the first refusal they are not tried again. */
let clonesWork = true;

/**
 * On filesystems with reflinks (btrfs, XFS, APFS) the staged copy is a clone: no bytes are written,
 * and the clone is read once to hash it. Returns undefined where cloning is not available.
 */
async function captureByClone(src: string, dest: string, before: BigIntStats): Promise<CaptureResult | undefined> {
  if (!clonesWork) return undefined;
  try {
    await copyFile(src, dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EINVAL' || code === 'ENOSYS' || code === 'ENOTTY') {
      clonesWork = false;
      return undefined;
    }
    throw err;
  }
  const after = await lstat(src, { bigint: true });
  if (contentMayDiffer(before, after)) return { ok: false, reason: 'changed' };
  const hash = createHash('sha256');
  const input = await open(dest, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const { bytesRead } = await input.read(buf, 0, CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buf.subarray(0, bytesRead));
    }
  } finally {
    await input.close();
  }
  return { ok: true, contentId: hash.digest('hex'), stat: after };
}

function captureSmall(src: string, dest: string, before: BigIntStats): CaptureResult {
  const fd = openSync(src, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    // One byte more than expected, to notice a file that grew since it was stat'ed.
    const buf = Buffer.allocUnsafe(Number(before.size) + 1);
    let len = 0;
    for (;;) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
      if (len === buf.length) break;
    }
    const after = fstatSync(fd, { bigint: true });
    if (len !== Number(before.size) || contentMayDiffer(before, after)) return { ok: false, reason: 'changed' };
    const out = openSync(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      let off = 0;
      while (off < len) off += writeSync(out, buf, off, len - off);
    } finally {
      closeSync(out);
    }
    return { ok: true, contentId: createHash('sha256').update(buf.subarray(0, len)).digest('hex'), stat: after };
  } finally {
    closeSync(fd);
  }
}

async function captureLarge(src: string, dest: string, before: BigIntStats): Promise<CaptureResult> {
  const input = await open(src, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const output = await open(dest, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    const hash = createHash('sha256');
    let total = 0;
    try {
      // Double buffering: the next read runs in the thread pool while this chunk is hashed and written.
      let bufs = [Buffer.allocUnsafe(CHUNK), Buffer.allocUnsafe(CHUNK)];
      let pending = input.read(bufs[0]!, 0, CHUNK, null);
      let which = 0;
      for (;;) {
        const { bytesRead } = await pending;
        if (bytesRead === 0) break;
        const current = bufs[which]!;
        which ^= 1;
        pending = input.read(bufs[which]!, 0, CHUNK, null);
        const chunk = current.subarray(0, bytesRead);
        hash.update(chunk);
        await output.write(chunk, 0, bytesRead);
        total += bytesRead;
      }
      bufs = [];
    } finally {
      await output.close();
    }
    const after = await input.stat({ bigint: true });
    if (total !== Number(before.size) || contentMayDiffer(before, after)) return { ok: false, reason: 'changed' };
    return { ok: true, contentId: hash.digest('hex'), stat: after };
  } finally {
    await input.close();
  }
}
