// The SHA-256 of a large file and of each of its chunks, computed beside the chunking: on a capture worker,
// a helper thread hashes each chunk (on its own and into the whole file's hash) while this thread writes
// the chunk before it and cuts the next one (ADR 0012). Synchronous for the caller: the worker that chunks
// blocks on Atomics, never on its event loop.
import type { Worker } from 'node:worker_threads';
import { crypto, workerThreads } from '../core/lazy-builtin.js';
import { workerScript } from '../core/worker-pool.js';
import { chunkWindow } from './chunker.js';

export interface WholeHash {
  /** Starts a new file (whatever an aborted one left is dropped). */
  begin(): void;
  /**
   * Hashes buffer[start, end) next: into the whole file's hash, and on its own as one chunk. The bytes must
   * stay as they are until `chunkDigest()` returns.
   */
  chunk(start: number, end: number): void;
  /** Waits for the last `chunk()` and returns that chunk's SHA-256 (hex). */
  chunkDigest(): string;
  /** The hex digest of every chunk so far, in order; the hash starts again empty for the next file. */
  digest(): string;
}

/** Hashing on this thread: where no helper runs (the main thread, or a helper that could not start). */
export function inlineWholeHash(buffer: Uint8Array): WholeHash {
  let hash = crypto().createHash('sha256');
  let last = '';
  return {
    begin: () => {
      hash = crypto().createHash('sha256');
    },
    chunk: (start, end) => {
      const part = buffer.subarray(start, end);
      hash.update(part);
      last = crypto().createHash('sha256').update(part).digest('hex');
    },
    chunkDigest: () => last,
    digest: () => {
      const hex = hash.digest('hex');
      hash = crypto().createHash('sha256');
      return hex;
    },
  };
}

/** Control words shared with the helper (Int32Array indexes). */
export const CTL = { state: 0, command: 1, start: 2, end: 3 } as const;
export const STATE = { idle: 0, posted: 1, failed: 2 } as const;
export const COMMAND = { begin: 0, chunk: 1, digest: 2 } as const;
/** Bytes of the digest area after the control words: a chunk's digest, or the whole file's. */
const DIGEST_BYTES = 32;
const CTL_BYTES = 16;

/** No progress from the helper for this long means it is gone: the capture fails instead of hanging. */
const STALL_MS = 60_000;

export interface HelperMemory {
  /** The rolling buffer's memory, and where in it the rolling buffer lies. */
  readonly buffer: SharedArrayBuffer;
  readonly offset: number;
  readonly length: number;
  readonly control: SharedArrayBuffer;
}

/** The control words and the digest area of the shared control memory, as both threads see them. */
export function controlViews(memory: HelperMemory): { ctl: Int32Array; digest: Uint8Array } {
  return { ctl: new Int32Array(memory.control, 0, CTL_BYTES / 4), digest: new Uint8Array(memory.control, CTL_BYTES, DIGEST_BYTES) };
}

/**
 * One helper per capture worker, started on its first chunked file and kept for the next ones. Null on
 * the main thread (a `bt check --repair`, or BT_CAPTURE_WORKERS=0), where waiting would block everything.
 */
let helper: Helper | null | undefined;

interface Helper {
  readonly worker: Worker;
  readonly memory: HelperMemory;
  /** The rolling buffer, as this thread sees it. */
  readonly window: Buffer;
}

let threaded: { buffer: Buffer; whole: WholeHash } | undefined;
let inline: { buffer: Buffer; whole: WholeHash } | undefined;

/**
 * The rolling buffer (a chunk window: the gear scan runs over it in place) and its whole-file hash, reused
 * from file to file: shared with a helper thread where one runs, else hashed on this thread (also once a
 * helper has failed).
 */
export function wholeHashFor(size: number): { buffer: Buffer; whole: WholeHash } {
  if (helper === undefined) {
    // On a worker thread the window is shared memory, for the helper; one that cannot start leaves it inline.
    const onWorker = !workerThreads().isMainThread;
    const window = chunkWindow(size, onWorker);
    helper = onWorker ? startHashHelper(workerScript(import.meta.url, 'hash-worker'), window) : null;
    if (helper === null) inline = { buffer: window, whole: inlineWholeHash(window) };
  }
  if (helper !== null && helper.window.length === size) {
    return (threaded ??= { buffer: helper.window, whole: threadedWholeHash(helper.memory) });
  }
  if (inline?.buffer.length !== size) {
    const buffer = chunkWindow(size, false);
    inline = { buffer, whole: inlineWholeHash(buffer) };
  }
  return inline;
}

/** Starts a helper thread running `script` over `window` (a view of a SharedArrayBuffer); null if it cannot. */
export function startHashHelper(script: URL, window: Buffer): Helper | null {
  if (!(window.buffer instanceof SharedArrayBuffer)) return null;
  try {
    const memory: HelperMemory = {
      buffer: window.buffer,
      offset: window.byteOffset,
      length: window.length,
      control: new SharedArrayBuffer(CTL_BYTES + DIGEST_BYTES),
    };
    const worker = new (workerThreads().Worker)(script, {
      workerData: memory,
      resourceLimits: { maxYoungGenerationSizeMb: 2 },
    });
    // A helper that dies sets nothing: the wait below gives up after STALL_MS and the capture fails.
    worker.on('error', () => {});
    worker.unref();
    return { worker, memory, window };
  } catch {
    return null;
  }
}

export function threadedWholeHash(memory: HelperMemory, stallMs = STALL_MS): WholeHash {
  const { ctl, digest: digestArea } = controlViews(memory);
  // A helper that failed or stopped is not used again: the next files hash on this thread.
  const giveUp = (why: string): never => {
    helper = null;
    threaded = undefined;
    throw new Error(`the whole-file hash helper ${why}`);
  };
  const settle = (): void => {
    for (;;) {
      const state = Atomics.load(ctl, CTL.state);
      if (state === STATE.idle) return;
      if (state === STATE.failed) giveUp('failed');
      if (Atomics.wait(ctl, CTL.state, state, stallMs) === 'timed-out') giveUp('stopped answering');
    }
  };
  const post = (command: number, start: number, end: number): void => {
    settle();
    ctl[CTL.command] = command;
    ctl[CTL.start] = start;
    ctl[CTL.end] = end;
    Atomics.store(ctl, CTL.state, STATE.posted);
    Atomics.notify(ctl, CTL.state);
  };
  const digestHex = (): string => {
    settle();
    return Buffer.from(digestArea).toString('hex');
  };
  return {
    begin: () => post(COMMAND.begin, 0, 0),
    chunk: (start, end) => post(COMMAND.chunk, start, end),
    chunkDigest: digestHex,
    digest: () => {
      post(COMMAND.digest, 0, 0);
      return digestHex();
    },
  };
}
