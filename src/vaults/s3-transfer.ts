// Streams of an S3 vault's transfers: a pass-through that proves the bytes are the content they claim to be.
import { createHash } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import { vaultError } from '../core/errors.js';

/** Thrown (through the stream) when the bytes read are not the expected content; the upload then aborts. */
export class ContentMismatch extends Error {
  constructor(readonly actual: string, readonly bytes: number) {
    super(`content mismatch: sha256 ${actual}, ${bytes} bytes`);
  }
}

/**
 * Passes bytes through while hashing them; at the end fails the stream if their SHA-256 or count is not the
 * expected one. Failing before the end is emitted means a multipart upload never sends its last part and
 * never completes: an object under a content key is always the content of that key.
 */
export function verifyingStream(expectedSha256: string, expectedBytes: number): Transform {
  const hash = createHash('sha256');
  let bytes = 0;
  return new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
    flush(done) {
      const actual = hash.digest('hex');
      done(actual === expectedSha256 && bytes === expectedBytes ? null : new ContentMismatch(actual, bytes));
    },
  });
}

/** Reads a whole response body (metadata objects, probes: small). */
export async function collect(body: unknown, what: string): Promise<Buffer> {
  if (!(body instanceof Readable)) throw vaultError(`${what}: the server sent no readable body`);
  const chunks: Buffer[] = [];
  for await (const chunk of body) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}
