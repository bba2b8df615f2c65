// Writes a large file's staged copy as a directory of chunks in the same pass that reads and hashes it:
// <dir>/<chunk sha256> for each distinct chunk (read-only) and <dir>/manifest.json last (ADR 0012).
// Synchronous, like the capture that calls it on a worker thread.
import { closeSync, constants, mkdirSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE, MANIFEST_FORMAT, encodeManifest } from './chunk-manifest.js';
import { CHUNK_MAX, cutPoint, moveToFront } from './chunker.js';
import { wholeHashFor } from './whole-hash.js';

export interface ChunkedCopy {
  /** SHA-256 of the whole file: the content id. */
  readonly sha256: string;
  readonly size: number;
  /** Chunks in the manifest (a repeated chunk counts each time). */
  readonly chunks: number;
  /** Bytes written as chunk files: the chunks that were not already known to be stored. */
  readonly stagedBytes: number;
}

/** Runs a write to the staging area; capture wraps it to tell staging failures from read failures. */
export type WriteGuard = <T>(write: () => T) => T;

const CREATE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL;
const READ_ONLY = 0o400;

/**
 * Reads a file through `read` (like readSync on its descriptor: fills buf[offset, offset+length), returns
 * the count, 0 at the end) and writes it as a chunk directory at `dir` (which must not exist). Memory:
 * the rolling buffer; every byte is read once, hashed for its chunk and for the whole file, written once.
 * A chunk in `stored` (every vault holds it already: the chunks of the file's previous version) is listed
 * in the manifest but not written: a small change to a large file stages a small amount of data.
 */
export function writeChunkedCopy(
  read: (buf: Buffer, offset: number, length: number) => number,
  dir: string,
  guard: WriteGuard = (w) => w(),
  stored: ReadonlySet<string> = new Set(),
): ChunkedCopy {
  // The rolling buffer: twice the largest chunk, so a whole chunk is always in memory when it is cut,
  // hashed and written; one per thread, reused from file to file.
  const { buffer: buf, whole } = wholeHashFor(2 * CHUNK_MAX);
  guard(() => mkdirSync(dir, { mode: 0o700 }));
  whole.begin();
  const written = new Set<string>();
  const chunks: [string, number][] = [];
  let size = 0;
  let stagedBytes = 0;
  let start = 0;
  let end = 0;
  let eof = false;
  // The chunk being hashed (by the helper, where one runs): this thread cuts the next chunk meanwhile, and
  // writes this one once its id is back, while the helper hashes the next.
  let pendingAt = 0;
  let pendingLength = -1;
  const record = (id: string): void => {
    const chunk = buf.subarray(pendingAt, pendingAt + pendingLength);
    if (!written.has(id) && !stored.has(id)) {
      guard(() => writeReadOnly(join(dir, id), chunk));
      written.add(id);
      stagedBytes += chunk.length;
    }
    chunks.push([id, chunk.length]);
    size += chunk.length;
    pendingLength = -1;
  };
  for (;;) {
    while (!eof && end < buf.length) {
      const n = read(buf, end, buf.length - end);
      if (n === 0) eof = true;
      else end += n;
    }
    // A cut is final only with CHUNK_MAX bytes ahead of it (or the end of the file).
    while (end - start >= CHUNK_MAX || (eof && end > start)) {
      const n = cutPoint(buf, start, end);
      const previous = pendingLength < 0 ? undefined : whole.chunkDigest();
      whole.chunk(start, start + n);
      if (previous !== undefined) record(previous);
      pendingAt = start;
      pendingLength = n;
      start += n;
    }
    // Done with the window's last chunk before its bytes move.
    if (pendingLength >= 0) record(whole.chunkDigest());
    if (eof) break;
    moveToFront(buf, start, end);
    end -= start;
    start = 0;
  }
  const sha256 = whole.digest();
  // Last: a directory with a manifest is complete (the staging flush makes it durable before FileStaged).
  guard(() => writeReadOnly(join(dir, MANIFEST_FILE), encodeManifest({ format: MANIFEST_FORMAT, sha256, size, chunks })));
  return { sha256, size, chunks: chunks.length, stagedBytes };
}

/** Chunks a file bt owns (a copy fetched from another vault by `bt check --repair`) into a chunk directory. */
export function chunkFileInto(src: string, dir: string): ChunkedCopy {
  const fd = openSync(src, constants.O_RDONLY);
  try {
    return writeChunkedCopy((b, off, len) => readSync(fd, b, off, len, null), dir);
  } finally {
    closeSync(fd);
  }
}

function writeReadOnly(path: string, data: Uint8Array): void {
  const fd = openSync(path, CREATE, READ_ONLY);
  try {
    let off = 0;
    while (off < data.length) off += writeSync(fd, data, off, data.length - off);
  } finally {
    closeSync(fd);
  }
}
