// Captures a file into the staging area in one pass: every byte read once, hashed and written together;
// a large file is cut into chunks in that same pass (chunked-copy.ts, ADR 0012). Synchronous: it runs in
// capture workers (capture-pool.ts), where blocking costs nothing and saves the thread-pool round trips
// that decide small-file speed.
import { crypto } from '../core/lazy-builtin.js';
import {
  type BigIntStats,
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  fstatSync,
  lstatSync,
  openSync,
  readSync,
  readlinkSync,
  rmSync,
  writeSync,
} from 'node:fs';
import { errnoCode } from '../core/errors.js';
import type { FileMeta } from '../events/codecs.js';
import { chunkThreshold } from './chunker.js';
import { openSourceSync } from './source-file.js';
import { writeChunkedCopy } from './chunked-copy.js';
import { type SeenStat, contentMayDiffer, metaFromStat, seenStat } from './meta.js';

/** What the walk saw; the capture checks the file still matches it before trusting what it read. */
export interface CaptureJob {
  readonly src: string;
  readonly dest: string;
  /** What the walk's lstat saw, so the first attempt needs no second lstat. */
  readonly seen?: SeenStat;
  /** Chunks every vault already holds (the previous version's): a chunked copy lists them but does not write them. */
  readonly stored?: readonly string[];
}

export type CaptureResult =
  | {
      readonly kind: 'staged';
      readonly contentId: string | null;
      readonly meta: FileMeta;
      readonly copied: boolean;
      /** The staged copy is a chunk directory with this many chunks; null for a single file (or a link). */
      readonly chunks: number | null;
    }
  /** The file disappeared before it could be read: not an error, simply not there any more. */
  | { readonly kind: 'gone' }
  | { readonly kind: 'skipped'; readonly reason: string }
  /** The staging area itself failed (full, read-only): nothing more can be staged; the caller stops. */
  | { readonly kind: 'staging-failed'; readonly code: string; readonly reason: string };

/** A failure writing the staged copy, as opposed to reading the user's file. */
class StagingWriteError extends Error {
  constructor(readonly failure: unknown) {
    super('staging write failed');
  }
}

function writing<T>(f: () => T): T {
  try {
    return f();
  } catch (err) {
    throw new StagingWriteError(err);
  }
}

const SMALL = 1 << 20;
/** The piece a large file is read in: all of the scratch buffer below. */
const CHUNK = SMALL;
const ATTEMPTS = 3;
/**
 * Staged copies are created read-only (the open file descriptor may still write them): they never change
 * again, and a filesystem vault can move them in as its immutable objects without a chmod.
 */
const STAGED_MODE = 0o400;
const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;

/** Whether copy-on-write clones worked here; after the first refusal they are not tried again. */
let clonesWork = true;

/**
 * Stages `job.src` as `job.dest` (which must not exist): a regular file is copied and hashed in one pass,
 * a symlink is recorded by its target. A file that changes while it is read is retried, then skipped.
 */
export function captureFile(job: CaptureJob): CaptureResult {
  const threshold = BigInt(chunkThreshold());
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    let before: SeenStat;
    if (attempt === 1 && job.seen?.kind === 'file') {
      before = job.seen;
    } else {
      let stat: BigIntStats;
      try {
        stat = lstatSync(job.src, { bigint: true });
      } catch (err) {
        return errnoCode(err) === 'ENOENT' ? { kind: 'gone' } : { kind: 'skipped', reason: `cannot stat (${errnoCode(err) ?? 'error'})` };
      }
      if (stat.isSymbolicLink()) return captureLink(job.src, stat);
      if (!stat.isFile()) return { kind: 'skipped', reason: 'no longer a regular file' };
      before = seenStat(stat);
    }
    try {
      const r =
        before.size <= BigInt(SMALL) ? copySmall(job, before)
        : before.size >= threshold ? copyChunked(job, before)
        : (cloneLarge(job, before) ?? copyLarge(job, before));
      if (r) return { kind: 'staged', contentId: r.contentId, meta: metaFromStat(r.stat, null), copied: true, chunks: r.chunks ?? null };
    } catch (err) {
      rmSync(job.dest, { force: true, recursive: true });
      if (err instanceof StagingWriteError) {
        const code = errnoCode(err.failure) ?? 'error';
        return { kind: 'staging-failed', code, reason: err.failure instanceof Error ? err.failure.message : String(err.failure) };
      }
      const code = errnoCode(err);
      if (code === 'ENOENT') return { kind: 'gone' };
      // ELOOP: replaced by a symlink between lstat and open; look again.
      if (code !== 'ELOOP') return { kind: 'skipped', reason: `cannot read (${code ?? String(err)})` };
    }
    rmSync(job.dest, { force: true, recursive: true });
  }
  return { kind: 'skipped', reason: `kept changing while being read (tried ${ATTEMPTS} times); not staged` };
}

function captureLink(src: string, stat: BigIntStats): CaptureResult {
  try {
    return { kind: 'staged', contentId: null, meta: metaFromStat(stat, readlinkSync(src)), copied: false, chunks: null };
  } catch (err) {
    return errnoCode(err) === 'ENOENT' ? { kind: 'gone' } : { kind: 'skipped', reason: `cannot read link (${errnoCode(err) ?? 'error'})` };
  }
}

type Copied = { contentId: string; stat: BigIntStats; chunks?: number } | undefined;

/**
 * One buffer for every file, read whole or in pieces (capture is synchronous): no allocation and no garbage
 * per file, and no fresh memory to fault in (~18 us a page on this VM, ~4.6 ms per MiB allocated anew).
 */
const scratch = Buffer.allocUnsafe(SMALL);

/** One read of the whole file; undefined when it changed meanwhile (size or times moved). */
function copySmall(job: CaptureJob, before: SeenStat): Copied {
  const fd = openSourceSync(job.src);
  let buf: Buffer;
  let after: BigIntStats;
  try {
    buf = scratch.subarray(0, Number(before.size));
    let len = 0;
    while (len < buf.length) {
      const n = readSync(fd, buf, len, buf.length - len, null);
      if (n === 0) break;
      len += n;
    }
    after = fstatSync(fd, { bigint: true });
    if (len !== buf.length || contentMayDiffer(before, after)) return undefined;
  } finally {
    closeSync(fd);
  }
  const out = writing(() => openSync(job.dest, CREATE, STAGED_MODE));
  try {
    writing(() => {
      let off = 0;
      while (off < buf.length) off += writeSync(out, buf, off, buf.length - off);
    });
  } finally {
    closeSync(out);
  }
  return { contentId: crypto().createHash('sha256').update(buf).digest('hex'), stat: after };
}

function copyLarge(job: CaptureJob, before: SeenStat): Copied {
  const fd = openSourceSync(job.src);
  const hash = crypto().createHash('sha256');
  let total = 0;
  try {
    const out = writing(() => openSync(job.dest, CREATE, STAGED_MODE));
    try {
      const buf = scratch;
      for (;;) {
        const n = readSync(fd, buf, 0, CHUNK, null);
        if (n === 0) break;
        hash.update(buf.subarray(0, n));
        writing(() => {
          let off = 0;
          while (off < n) off += writeSync(out, buf, off, n - off);
        });
        total += n;
      }
    } finally {
      closeSync(out);
    }
    const after = fstatSync(fd, { bigint: true });
    if (total !== Number(before.size) || contentMayDiffer(before, after)) return undefined;
    return { contentId: hash.digest('hex'), stat: after };
  } finally {
    closeSync(fd);
  }
}

/** A large file as a chunk directory: read once, cut, each chunk and the whole file hashed, chunks written. */
function copyChunked(job: CaptureJob, before: SeenStat): Copied {
  const fd = openSourceSync(job.src);
  try {
    const r = writeChunkedCopy((buf, off, len) => readSync(fd, buf, off, len, null), job.dest, writing, new Set(job.stored));
    const after = fstatSync(fd, { bigint: true });
    if (r.size !== Number(before.size) || contentMayDiffer(before, after)) return undefined;
    return { contentId: r.sha256, stat: after, chunks: r.chunks };
  } finally {
    closeSync(fd);
  }
}

/**
 * On filesystems with reflinks (btrfs, XFS, APFS) the staged copy is a clone: no bytes are written, and the
 * clone is read once to hash it. Returns null where cloning is not available.
 */
function cloneLarge(job: CaptureJob, before: SeenStat): Copied | null {
  if (!clonesWork) return null;
  try {
    copyFileSync(job.src, job.dest, constants.COPYFILE_EXCL | constants.COPYFILE_FICLONE_FORCE);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOTSUP' || code === 'EOPNOTSUPP' || code === 'EXDEV' || code === 'EINVAL' || code === 'ENOSYS' || code === 'ENOTTY') {
      clonesWork = false;
      return null;
    }
    throw err;
  }
  chmodSync(job.dest, STAGED_MODE);
  const after = lstatSync(job.src, { bigint: true });
  if (contentMayDiffer(before, after)) return undefined;
  const hash = crypto().createHash('sha256');
  const fd = openSync(job.dest, constants.O_RDONLY);
  try {
    const buf = scratch;
    for (;;) {
      const n = readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return { contentId: hash.digest('hex'), stat: after };
}
