// Content-defined chunking of large files (FastCDC, gear hash, normalized chunking level 2): where a chunk
// ends depends only on the bytes around it, so an insertion moves the cut points near it and no others.
// The parameters and the gear table are part of the vault format (ADR 0012): changing either makes the
// same bytes give other chunks, which stays readable but stops deduplicating against older chunks.

import { type GearWindow, gearWindow } from './gear-wasm.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** No chunk is shorter, except the last of a file. */
export const CHUNK_MIN = 512 * KiB;
/** The normalization point: cuts before it are 16 times less likely than after it. */
export const CHUNK_AVG = 2 * MiB;
/** No chunk is longer: a cut is forced here. */
export const CHUNK_MAX = 8 * MiB;
/** Files of at least this size are chunked; smaller ones stay single objects. */
export const CHUNK_THRESHOLD = 8 * MiB;

/**
 * The threshold in force: BT_CHUNK_THRESHOLD (bytes) overrides it for the benchmark's "before chunking"
 * figure only; it changes what is stored, never what can be read.
 */
export function chunkThreshold(): number {
  const raw = process.env.BT_CHUNK_THRESHOLD;
  if (raw === undefined || !/^\d+$/.test(raw)) return CHUNK_THRESHOLD;
  return Math.max(CHUNK_MAX, Number(raw));
}

/**
 * Cut condition before CHUNK_AVG: the top 23 bits of the 32-bit fingerprint are zero (probability 2^-23,
 * log2(CHUNK_AVG) + 2 bits); from CHUNK_AVG on the top 19 bits (2^-19, log2(CHUNK_AVG) - 2). The top bits
 * are the ones that depend on the most bytes (the last 32) of a gear hash that shifts left.
 */
export const MASK_HARD = 0xfffffe00 | 0;
export const MASK_EASY = 0xffffe000 | 0;

/** GEAR[i] = the first 4 bytes (big-endian) of SHA-256("bt gear <i>"); test/unit/chunker.test.ts re-derives it. */
// prettier-ignore
export const GEAR: Int32Array = Int32Array.from([
  0x89c59cbf, 0xc5152417, 0xf97a92d3, 0x04ea2918, 0x6dbee14d, 0x97f18e75, 0x2dff556e, 0xfeaa7160,
  0xb39bfa6f, 0xbf91b354, 0x6322afbb, 0xcc3d8c2c, 0xcc36572f, 0x5b475fb8, 0xa4f14a72, 0x8ead9604,
  0xdf66b317, 0x606088aa, 0xcf98704b, 0xd703d90d, 0x7823a231, 0x79094468, 0x4d54f99f, 0x2e5bdf8a,
  0xfb048535, 0x654d6586, 0x8bbf2114, 0x1e60b027, 0xdb90e76d, 0xcf77fee5, 0x64da26b5, 0x9099beac,
  0x8743c44c, 0x38ae8822, 0x07ee52b6, 0x50ac250e, 0x80d2e92b, 0x64dd7684, 0x8970b67f, 0x0fa78689,
  0xfb9db231, 0xbdc6f8cb, 0xef60fe89, 0xd0d94953, 0x3f6fd311, 0xd892a5a2, 0xf0292493, 0x08fa6604,
  0x9dd3a1a1, 0x09338f22, 0xf759873e, 0x4c52261f, 0x7d4df0ef, 0x3c00927a, 0xb9dfd21b, 0x11834508,
  0xd8ee9961, 0x4f368e05, 0x986456ea, 0x1e50c4c7, 0xe7b6ad63, 0x00530268, 0x7c29dff5, 0xcb9b20c2,
  0x65118596, 0x8dc56b62, 0x4a3eecfc, 0xe620d127, 0x4d545373, 0x077aabc4, 0xfcf00d26, 0x7de2f88e,
  0x55b39278, 0x0fccc9b0, 0xefd2944e, 0x8dbf0a4d, 0x3fcf521a, 0x23379653, 0x31e125b7, 0x7dc43fd3,
  0xf5ff1c8a, 0x5697daf4, 0xce54348e, 0x31ffe992, 0x1ca3f799, 0x57e4ea6b, 0x48473fdf, 0xe2c67cb9,
  0xaadfaa93, 0xeaa6bda2, 0x8ed66c9e, 0xff84681d, 0x4805b96d, 0xd70197c7, 0x78a493c5, 0xd9bda973,
  0x2feebfbd, 0xbe3c03b1, 0x3ade4b7f, 0x0e53af67, 0x2206cf1b, 0x68a03b41, 0xb298b808, 0x6690e466,
  0xbb400c78, 0x54914765, 0x76aceb7b, 0x6fe6b36b, 0x82052108, 0x93b60638, 0x3f718ff3, 0xb9e204c6,
  0xa4a73a30, 0x9e358903, 0x3350ebf4, 0x2d10a168, 0xfba09325, 0x2dd96f42, 0x86beb3d9, 0xd84220f3,
  0xb0b3180b, 0x40ed7968, 0x6861ffaa, 0xa6a68b77, 0x4d6cf225, 0xce2d6ab6, 0x51a93015, 0x9a16f060,
  0x26e4e05b, 0xa794177b, 0x457abe82, 0xe301633f, 0x26b1f1ca, 0xfc30df61, 0x6ab6943e, 0xe78ed196,
  0x882f6af2, 0xd8127bd7, 0x62ef2285, 0xd8e842ef, 0x1e251663, 0x3bffd721, 0x9770efbe, 0xf0ae5d59,
  0x911a755d, 0x182305e9, 0x92c70d47, 0xb29e44b7, 0x4c886d93, 0x844c3784, 0x11ab2160, 0x01c8b027,
  0xa07c7914, 0x7c1a0e1c, 0x96ff797a, 0xdb264644, 0x4ec0d557, 0x659f8aca, 0xc0a3f2c8, 0x07045827,
  0xde94d8ff, 0xf3a79f9c, 0x54c84393, 0xe57ad74c, 0xc282dab7, 0x33b3ede1, 0x62b97e86, 0xa4e7de80,
  0x0c2712db, 0x0114d12e, 0xbd20f7d7, 0xb816b612, 0x0fdc964f, 0x20e63818, 0xcc9b6a38, 0x2d882d01,
  0x21554115, 0xace3aaaa, 0x7cd8becb, 0x6de44d2d, 0x53fbbff8, 0x6b3a7e83, 0x564e22d5, 0xc84b6229,
  0xf66e0cff, 0x322c0664, 0x142100aa, 0x33014abd, 0xa3eef2bf, 0x6ae44972, 0xdf1b6ad0, 0x6d89c34d,
  0x0a90919c, 0xbb0b86fe, 0x78cee60e, 0xfb4e63ea, 0x33ade808, 0xd4cd86ed, 0xe6a1b88f, 0x179e54c5,
  0x41abb532, 0x604d4b8d, 0x22306061, 0xdc2e7835, 0xbd7b9d4b, 0xab1f60d9, 0x74708fb7, 0x6d5b2e12,
  0xc3773bfa, 0x2fae34a9, 0xe66a568c, 0x01c91acc, 0x11acca2a, 0x1de3efa5, 0x0464fc2b, 0x6f3f489c,
  0xb6bbbf30, 0x2869fe10, 0x3182dcb6, 0x7a8cf09d, 0xceae785e, 0x68325593, 0xf14db685, 0x8e5f78b6,
  0xb71e9c39, 0x79b27956, 0xd9f170a7, 0x3e58826b, 0x80aa921c, 0x6435bbbf, 0x1e44c504, 0xe6c01906,
  0x864d16cc, 0x18e821bf, 0x4b533de0, 0x19ce4c80, 0x33e60447, 0x9daf8cae, 0x70728381, 0x51eac1fc,
  0x51a034b9, 0x45ab744b, 0x4cf0a2e3, 0xb14218e8, 0xe9e9d107, 0xad2330e1, 0x5eefea1c, 0x39492518,
  0x0a005162, 0x8422e1bd, 0x8f57fcd0, 0x75bfd3cd, 0x9f0c2fdc, 0x7c2b2e1e, 0xd1ef4b37, 0x27b79d95,
], (v) => v | 0);

/** Windows by the memory they view: a cut in a window's bytes is scanned in place. */
const windows = new WeakMap<ArrayBufferLike, GearWindow>();
/** Where bytes from elsewhere (a test's buffer, chunkLengths) are copied to be scanned. */
let scratch: GearWindow | undefined;

/**
 * A buffer of `size` bytes that cutPoint scans in place (WebAssembly memory, gear-wasm.ts); shared, its
 * memory is a SharedArrayBuffer another thread can read. Any other buffer is first copied to be scanned.
 */
export function chunkWindow(size: number, shared: boolean): Buffer {
  const w = gearWindow(size, GEAR, shared);
  windows.set(w.bytes.buffer, w);
  return w.bytes;
}

/**
 * The length of the chunk that starts at `start`, given the bytes `data[start, end)`. The caller passes at
 * least CHUNK_MAX bytes, or everything that is left of the file (then the last chunk may be shorter than
 * CHUNK_MIN). The fingerprint starts at zero at CHUNK_MIN: the first CHUNK_MIN bytes are not hashed.
 */
export function cutPoint(data: Uint8Array, start: number, end: number): number {
  const available = end - start;
  if (available <= CHUNK_MIN) return available;
  const limit = Math.min(available, CHUNK_MAX);
  const normal = Math.min(limit, CHUNK_AVG);
  const from = start + CHUNK_MIN;
  // `shift` takes an index of `data` to one of the window's bytes.
  let w = windows.get(data.buffer);
  let shift: number;
  if (w !== undefined) {
    shift = data.byteOffset - w.bytes.byteOffset;
  } else {
    w = scratch ??= gearWindow(CHUNK_MAX, GEAR, false);
    w.bytes.set(data.subarray(from, start + limit));
    shift = -from;
  }
  let at = w.scan(from + shift, start + normal + shift, MASK_HARD, 0);
  if (at < 0) at = w.scan(start + normal + shift, start + limit + shift, MASK_EASY, w.carried());
  return at < 0 ? limit : at - shift + 1 - start;
}

/** buf.copyWithin(0, start, end); for a shared chunk window, at memmove speed (gear-wasm.ts). */
export function moveToFront(buf: Uint8Array, start: number, end: number): void {
  const w = windows.get(buf.buffer);
  if (w !== undefined && buf.byteOffset === w.bytes.byteOffset) w.moveToFront(start, end);
  else buf.copyWithin(0, start, end);
}

/** Every chunk length of a buffer held whole in memory (tests, small tools); the lengths sum to its size. */
export function chunkLengths(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let start = 0; start < data.length; ) {
    const n = cutPoint(data, start, data.length);
    out.push(n);
    start += n;
  }
  return out;
}
