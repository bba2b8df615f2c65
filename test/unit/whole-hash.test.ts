// The hash helper of chunked capture: the same digests as hashing inline, chunk after chunk and file after
// file, and a helper that dies makes the capture fail instead of hang.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { inlineWholeHash, startHashHelper, threadedWholeHash, type WholeHash } from '../../src/fs/whole-hash.js';

// Worker threads here do not load TypeScript: the helper runs from the build (`npm test` builds first).
const script = new URL('../../dist/hash-worker.js', import.meta.url);
const SIZE = 1 << 16;

/**
 * Hashes `data` through `whole`, a chunk of `window` bytes at a time, each copied into `buffer` first;
 * checks each chunk's own digest on the way.
 */
function hashThrough(whole: WholeHash, buffer: Uint8Array, data: Buffer, window: number): string {
  whole.begin();
  for (let at = 0; at < data.length; at += window) {
    const part = data.subarray(at, Math.min(data.length, at + window));
    const offset = (at / window) % 2 === 0 ? 0 : SIZE - part.length;
    buffer.set(part, offset);
    whole.chunk(offset, offset + part.length);
    assert.is(whole.chunkDigest(), createHash('sha256').update(part).digest('hex'), `chunk at ${at}`);
  }
  return whole.digest();
}

test('the helper gives the SHA-256 of every chunk and every file, also after one that was abandoned midway', async () => {
  // The rolling buffer need not start at the beginning of its memory (a chunk window does not).
  const h = startHashHelper(script, Buffer.from(new SharedArrayBuffer(SIZE + 100), 100, SIZE));
  assert.ok(h, 'the helper starts');
  const buffer = h.window;
  const whole = threadedWholeHash(h.memory);
  const inline = inlineWholeHash(buffer);
  for (const [length, window] of [[0, 100], [1, 100], [200_000, 30_000], [SIZE, SIZE], [123_457, 4096]] as const) {
    const data = randomBytes(length);
    const expected = createHash('sha256').update(data).digest('hex');
    assert.is(hashThrough(whole, buffer, data, window), expected, `threaded, ${length} bytes`);
    assert.is(hashThrough(inline, buffer, data, window), expected, `inline, ${length} bytes`);
    // Abandoned: updated, never digested; the next file starts clean.
    whole.begin();
    buffer.set(randomBytes(100));
    whole.chunk(0, 100);
  }
  await h.worker.terminate();
});

test('a helper that stops answering fails the capture after the stall time', async () => {
  const h = startHashHelper(script, Buffer.from(new SharedArrayBuffer(SIZE)))!;
  await h.worker.terminate();
  const whole = threadedWholeHash(h.memory, 200);
  const started = Date.now();
  assert.throws(() => {
    whole.begin();
    whole.chunk(0, 10);
    whole.chunkDigest();
  }, /stopped answering/);
  assert.ok(Date.now() - started < 5000);
});

test.run();
