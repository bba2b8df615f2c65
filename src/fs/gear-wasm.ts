// The gear scan of content-defined chunking as a WebAssembly function. The same loop in JavaScript ran at
// ~1.1-1.7 s per GiB here (V8's bounds and type checks around every byte); compiled from WebAssembly it runs
// at ~0.35 s (ADR 0012). The module is assembled below from named instructions, not shipped as opaque
// bytes, so what it does can be read here; test/unit/chunker.test.ts checks it against a JavaScript scan.
//
// Memory layout: the gear table (256 x i32) at 0, the fingerprint a scan ended with at CARRIED, and the
// bytes to scan from DATA on. The bytes are scanned in place: the rolling buffer of a chunked copy *is*
// this memory (shared with the whole-file hash helper when one runs), so nothing is copied.

// The parts of the WebAssembly API used here (the project's TypeScript libraries do not declare it).
declare const WebAssembly: {
  Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => { readonly buffer: ArrayBuffer | SharedArrayBuffer };
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> };
};

/** Where the bytes to scan start in the module's memory. */
export const DATA = 4096;
const CARRIED = 1024;
const PAGE = 65536;
/** Bytes checked per loop turn; the tail is scanned one at a time. */
const UNROLL = 4;

// Opcodes (WebAssembly core specification, section 5.4).
const op = {
  block: 0x02,
  loop: 0x03,
  if: 0x04,
  end: 0x0b,
  br: 0x0c,
  brIf: 0x0d,
  return: 0x0f,
  localGet: 0x20,
  localSet: 0x21,
  localTee: 0x22,
  i32Load: 0x28,
  i32Load8U: 0x2d,
  i32Store: 0x36,
  i32Const: 0x41,
  i32Eqz: 0x45,
  i32GtU: 0x4b,
  i32GeU: 0x4f,
  i32Add: 0x6a,
  i32And: 0x71,
  i32Shl: 0x74,
  /** Prefix of the bulk memory instructions; memory.copy is 0xfc 10 0 0. */
  bulk: 0xfc,
  memoryCopy: 10,
  void: 0x40,
  i32: 0x7f,
  func: 0x60,
} as const;

const uleb = (n: number): number[] => {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
};

const sleb = (n: number): number[] => {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) return [...out, b];
    out.push(b | 0x80);
  }
};

const name = (s: string): number[] => [...uleb(s.length), ...Buffer.from(s, 'latin1')];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

// scan(i, to, mask, fp): the parameters are locals 0-3.
const [I, TO, MASK, FP] = [0, 1, 2, 3];

/** fp = (fp << 1) + GEAR[mem[i + k]]; if ((fp & mask) == 0) return i + k. */
const step = (k: number): number[] => [
  op.localGet, FP, op.i32Const, 1, op.i32Shl,
  op.localGet, I, op.i32Load8U, 0, ...uleb(k),
  op.i32Const, 2, op.i32Shl, op.i32Load, 2, 0,
  op.i32Add, op.localTee, FP,
  op.localGet, MASK, op.i32And, op.i32Eqz,
  op.if, op.void,
  op.localGet, I, ...(k === 0 ? [] : [op.i32Const, ...sleb(k), op.i32Add]), op.return,
  op.end,
];

/** i += n */
const advance = (n: number): number[] => [op.localGet, I, op.i32Const, ...sleb(n), op.i32Add, op.localSet, I];

/**
 * The first i in [i, to) after whose byte (fp & mask) == 0, else -1 with the fingerprint stored at CARRIED:
 * exactly the JavaScript scan it replaces (chunker.ts), four bytes a turn, then one at a time.
 */
const scanBody: number[] = [
  op.block, op.void, op.loop, op.void,
  // while (i + UNROLL <= to)
  op.localGet, I, op.i32Const, ...sleb(UNROLL), op.i32Add, op.localGet, TO, op.i32GtU, op.brIf, 1,
  ...Array.from({ length: UNROLL }, (_, k) => step(k)).flat(),
  ...advance(UNROLL),
  op.br, 0,
  op.end, op.end,
  op.block, op.void, op.loop, op.void,
  // while (i < to)
  op.localGet, I, op.localGet, TO, op.i32GeU, op.brIf, 1,
  ...step(0),
  ...advance(1),
  op.br, 0,
  op.end, op.end,
  op.i32Const, ...sleb(CARRIED), op.localGet, FP, op.i32Store, 2, 0,
  op.i32Const, ...sleb(-1),
  op.end,
];

/**
 * move(dst, src, len): memmove within the memory. A SharedArrayBuffer's own copyWithin (and set, and
 * Buffer.copy) copies with relaxed atomics, ~15 times slower here; memory.copy is a plain memmove.
 */
const moveBody: number[] = [op.localGet, 0, op.localGet, 1, op.localGet, 2, op.bulk, op.memoryCopy, 0, 0, op.end];

function moduleBytes(pages: number, shared: boolean): Uint8Array {
  // Imported memory: flags 0 = min only; 3 = shared, min and max (shared memory must have a maximum).
  const limits = shared ? [3, ...uleb(pages), ...uleb(pages)] : [0, ...uleb(pages)];
  // Neither function has locals beyond its parameters.
  const code = [0, ...scanBody];
  const move = [0, ...moveBody];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    // Types: 0 = (i32 i32 i32 i32) -> i32, 1 = (i32 i32 i32) -> ().
    ...section(1, [2, op.func, 4, op.i32, op.i32, op.i32, op.i32, 1, op.i32, op.func, 3, op.i32, op.i32, op.i32, 0]),
    ...section(2, [1, ...name('env'), ...name('memory'), 0x02, ...limits]),
    ...section(3, [2, 0, 1]),
    ...section(7, [2, ...name('scan'), 0x00, 0, ...name('move'), 0x00, 1]),
    ...section(10, [2, ...uleb(code.length), ...code, ...uleb(move.length), ...move]),
  ]);
}

/** A buffer the gear scan runs over in place, and the scan. */
export interface GearWindow {
  /** The bytes to scan: a view of the module's memory from DATA on. */
  readonly bytes: Buffer;
  /**
   * The first index i in [from, to) of `bytes` after whose byte (fp & mask) === 0, the fingerprint rolled
   * from `fp` over bytes[from, i]; -1 if none, and then `carried()` is the fingerprint at `to`.
   */
  scan(from: number, to: number, mask: number, fp: number): number;
  carried(): number;
  /** bytes.copyWithin(0, start, end), at memmove speed also on shared memory. */
  moveToFront(start: number, end: number): void;
}

/**
 * A window of `size` bytes in WebAssembly memory with `gear` loaded; shared (its buffer a
 * SharedArrayBuffer another thread can read) or not.
 */
export function gearWindow(size: number, gear: Int32Array, shared: boolean): GearWindow {
  const pages = Math.ceil((DATA + size) / PAGE);
  const memory = new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared: true } : { initial: pages });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes(pages, shared)), { env: { memory } });
  const scan = instance.exports.scan as (from: number, to: number, mask: number, fp: number) => number;
  const move = instance.exports.move as (dst: number, src: number, len: number) => void;
  // WebAssembly memory is little-endian whatever the host: the table is written so, and the fingerprint read so.
  const view = new DataView(memory.buffer);
  gear.forEach((v, i) => view.setInt32(i * 4, v, true));
  return {
    bytes: Buffer.from(memory.buffer, DATA, size),
    scan: (from, to, mask, fp) => {
      const at = scan(DATA + from, DATA + to, mask, fp);
      return at < 0 ? -1 : at - DATA;
    },
    carried: () => view.getInt32(CARRIED, true),
    moveToFront: (start, end) => {
      if (start < 0 || end > size || start > end) throw new RangeError(`cannot move [${start}, ${end}) of ${size} bytes`);
      move(DATA, DATA + start, end - start);
    },
  };
}
