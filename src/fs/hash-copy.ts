// Streams a file to a new path while hashing it; the SHA-256 decides whether the copy is kept.
import { crypto } from '../core/lazy-builtin.js';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { errnoCode } from '../core/errors.js';

/** Copies src to dest (which must not exist) and returns the SHA-256 of the bytes copied. */
export async function copyHashing(src: string, dest: string, mode = 0o600): Promise<{ sha256: string; bytes: number }> {
  const hash = crypto().createHash('sha256');
  let bytes = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream(src, { highWaterMark: 1 << 20 }), tap, createWriteStream(dest, { flags: 'wx', mode }));
  } catch (err) {
    // A partial copy goes; a file that was there before (EEXIST) is not ours to remove.
    if (errnoCode(err) !== 'EEXIST') await rm(dest, { force: true });
    throw err;
  }
  return { sha256: hash.digest('hex'), bytes };
}
