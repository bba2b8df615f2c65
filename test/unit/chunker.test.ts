// The chunker (src/fs/chunker.ts) and chunked staged copies (src/fs/chunked-copy.ts): fixed gear table,
// the same cuts on every host, min/max respected, cuts that survive an insertion, one read pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv, createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeManifest } from '../../src/fs/chunk-manifest.js';
import { CHUNK_AVG, CHUNK_MAX, CHUNK_MIN, GEAR, chunkLengths, chunkWindow, cutPoint } from '../../src/fs/chunker.js';
import { gearWindow } from '../../src/fs/gear-wasm.js';
import { writeChunkedCopy } from '../../src/fs/chunked-copy.js';
import { tempDir } from '../support/tmp.js';

const MiB = 1024 * 1024;
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Incompressible deterministic bytes (AES-128-CTR keystream), like the benchmark corpus. */
function keystream(seed: number, length: number): Buffer {
  const iv = Buffer.alloc(16);
  iv.writeUInt32BE(seed, 0);
  return createCipheriv('aes-128-ctr', Buffer.alloc(16, 0x5a), iv).update(Buffer.alloc(length));
}

const data = keystream(7, 96 * MiB);
const lengths = chunkLengths(data);

test('the gear table is SHA-256("bt gear <i>") as committed: no host computes another', () => {
  assert.is(GEAR.length, 256);
  for (let i = 0; i < 256; i++) assert.is(GEAR[i], createHash('sha256').update(`bt gear ${i}`).digest().readInt32BE(0), `entry ${i}`);
});

test('the same bytes give the same chunks, and these exact ones (a change here changes the vault format)', () => {
  assert.equal(chunkLengths(Buffer.from(data)), lengths);
  assert.is(lengths.reduce((a, b) => a + b, 0), data.length);
  // Pinned: the cut points of this input under the documented parameters (ADR 0012).
  assert.is(lengths.length, 40);
  assert.equal(lengths.slice(0, 5), [3353579, 3988094, 2211930, 2614110, 2899752]);
  assert.is(sha(Buffer.from(lengths.join(','))), '3db76c960f14c57b37e284a0236b579596da63b8a508051de5ba2a33b542584e');
});

test('the WebAssembly gear scan stops exactly where the plain loop does, and carries its fingerprint', () => {
  /** The gear loop as ADR 0012 defines it. */
  const reference = (b: Uint8Array, from: number, to: number, mask: number, fp: number): [number, number] => {
    for (let i = from; i < to; i++) {
      fp = ((fp << 1) + GEAR[b[i]!]!) | 0;
      if ((fp & mask) === 0) return [i, fp];
    }
    return [-1, fp];
  };
  let seed = 1;
  const next = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % n);
  for (const shared of [false, true]) {
    const w = gearWindow(1 << 16, GEAR, shared);
    w.bytes.set(keystream(3, 1 << 16));
    let cuts = 0;
    // Masks of 4-12 bits cut often: every position in the four-byte turn and the one-at-a-time tail is hit.
    for (let k = 0; k < 4000; k++) {
      const from = next(60000);
      const to = from + next(300);
      const mask = ~((1 << (20 + next(9))) - 1) | 0;
      const fp = k % 2 === 0 ? 0 : next(1 << 30) | 0;
      const [at, carried] = reference(w.bytes, from, to, mask, fp);
      assert.is(w.scan(from, to, mask, fp), at, `scan [${from}, ${to}) mask ${mask >>> 0}`);
      if (at < 0) assert.is(w.carried(), carried);
      else cuts++;
    }
    assert.ok(cuts > 1000, `${cuts} cuts`);
    // The rolling buffer's move to the front, overlapping or not.
    for (const [start, end] of [[40000, 65536], [100, 30000], [0, 5], [65536, 65536]] as const) {
      const expected = Buffer.from(w.bytes).copyWithin(0, start, end);
      w.moveToFront(start, end);
      assert.ok(w.bytes.equals(expected), `move [${start}, ${end})`);
    }
    assert.throws(() => w.moveToFront(10, (1 << 16) + 1), /cannot move/);
  }
  // A chunk window is scanned in place; any other buffer is copied first: the same cuts.
  const window = chunkWindow(24 * MiB, false);
  data.copy(window, 0, 0, 24 * MiB);
  assert.equal(chunkLengths(window), chunkLengths(data.subarray(0, 24 * MiB)));
  assert.equal(chunkLengths(window.subarray(1234)), chunkLengths(data.subarray(1234, 24 * MiB)));
});

test('every chunk but the last is within [min, max]; the average is near the documented 2 MiB', () => {
  for (const n of lengths.slice(0, -1)) assert.ok(n >= CHUNK_MIN && n <= CHUNK_MAX, `chunk of ${n} bytes`);
  const mean = data.length / lengths.length;
  assert.ok(mean > 1.5 * MiB && mean < 3 * MiB, `mean ${(mean / MiB).toFixed(2)} MiB`);
  // Bytes with no content to cut on are cut at the maximum: a file of zeros is identical 8 MiB chunks.
  assert.equal(chunkLengths(Buffer.alloc(20 * MiB)), [CHUNK_MAX, CHUNK_MAX, 4 * MiB]);
  // A short tail is one chunk, however short.
  assert.equal(chunkLengths(data.subarray(0, 1000)), [1000]);
  assert.is(cutPoint(data, 0, CHUNK_MIN), CHUNK_MIN);
  assert.ok(CHUNK_AVG > CHUNK_MIN && CHUNK_AVG < CHUNK_MAX);
});

test('an insertion, a deletion or an overwrite moves only the cuts near it', () => {
  const ids = (b: Buffer): Set<string> => {
    const out = new Set<string>();
    let at = 0;
    for (const n of chunkLengths(b)) {
      out.add(sha(b.subarray(at, at + n)));
      at += n;
    }
    return out;
  };
  const before = ids(data);
  const mid = 48 * MiB + 12345;
  const variants = {
    insert: Buffer.concat([data.subarray(0, mid), keystream(99, 1024), data.subarray(mid)]),
    delete: Buffer.concat([data.subarray(0, mid), data.subarray(mid + 1024)]),
    overwrite: Buffer.concat([data.subarray(0, mid), keystream(98, 4096), data.subarray(mid + 4096)]),
    append: Buffer.concat([data, keystream(97, 1024)]),
    prepend: Buffer.concat([keystream(96, 1024), data]),
  };
  for (const [name, b] of Object.entries(variants)) {
    const after = ids(b);
    const fresh = [...after].filter((id) => !before.has(id)).length;
    assert.ok(fresh >= 1 && fresh <= 2, `${name}: ${fresh} new chunk(s) of ${after.size}`);
  }
});

test('a chunked staged copy: read in any pieces, the same chunks; one read-only file per distinct chunk; manifest last', () => {
  // A run of zeros (as in a sparse disk image) is identical maximum-size chunks: stored once.
  const file = Buffer.concat([keystream(11, 5 * MiB), Buffer.alloc(40 * MiB), keystream(12, 3 * MiB + 17)]);
  for (const piece of [64 * 1024 + 3, 5 * MiB, 64 * MiB]) {
    const dir = join(tempDir('bt-chunked-copy'), 'staged');
    let at = 0;
    const read = (buf: Buffer, off: number, len: number): number => {
      const n = Math.min(len, piece, file.length - at);
      file.copy(buf, off, at, at + n);
      at += n;
      return n;
    };
    const r = writeChunkedCopy(read, dir);
    assert.is(r.sha256, sha(file));
    assert.is(r.size, file.length);
    const m = decodeManifest(readFileSync(join(dir, 'manifest.json')), r.sha256);
    assert.ok(m.ok, m.ok ? '' : m.reason);
    if (!m.ok) return;
    assert.equal(m.value.chunks.map(([, n]) => n), chunkLengths(file), `pieces of ${piece}`);
    assert.is(r.chunks, m.value.chunks.length);
    const distinct = new Set(m.value.chunks.map(([id]) => id));
    assert.ok(distinct.size < m.value.chunks.length, 'the zeros repeat a chunk');
    assert.equal(readdirSync(dir).sort(), [...distinct, 'manifest.json'].sort());
    let offset = 0;
    for (const [id, n] of m.value.chunks) {
      const bytes = readFileSync(join(dir, id));
      assert.is(sha(bytes), id);
      assert.ok(bytes.equals(file.subarray(offset, offset + n)));
      assert.is(statSync(join(dir, id)).mode & 0o777, 0o400);
      offset += n;
    }
  }
});

test('a manifest that does not add up, or names another content, does not decode', () => {
  const id = sha(Buffer.from('x'));
  const good = { format: 1, sha256: id, size: 3, chunks: [[id, 1], [id, 2]] };
  const enc = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
  assert.ok(decodeManifest(enc(good), id).ok);
  assert.not.ok(decodeManifest(enc({ ...good, size: 4 }), id).ok);
  assert.not.ok(decodeManifest(enc(good), sha(Buffer.from('y'))).ok);
  assert.not.ok(decodeManifest(enc({ ...good, format: 2 }), id).ok);
  assert.not.ok(decodeManifest(enc({ ...good, chunks: [[id, 0], [id, 3]] }), id).ok);
  assert.not.ok(decodeManifest(Buffer.from('{"format":1,'), id).ok);
});

test.run();
