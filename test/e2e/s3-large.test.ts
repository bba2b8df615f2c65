// A 300 MiB file through an S3 vault: multipart upload in 8 MiB parts, each with Content-MD5, and back intact.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BtHome } from '../support/cli.js';
import { S3RVER_CREDENTIALS, s3VaultArgs, startS3Server } from '../support/s3-server.js';

const MiB = 1024 * 1024;
const SIZE = 300 * MiB + 4321; // not a multiple of the part size: the last part is short

/** Writes `size` deterministic bytes: a SHA-256-chained 1 MiB block, stamped with its index so no two MiB are equal. */
function writeDeterministic(path: string, size: number): string {
  const block = Buffer.alloc(MiB);
  let h = createHash('sha256').update('bt-s3-large').digest();
  for (let i = 0; i < MiB; i += 32) {
    h.copy(block, i);
    h = createHash('sha256').update(h).digest();
  }
  const whole = createHash('sha256');
  const fd = openSync(path, 'w');
  try {
    for (let off = 0, i = 0; off < size; off += MiB, i++) {
      for (let k = 0; k < MiB; k += 64 * 1024) block.writeUInt32LE(i, k);
      const chunk = block.subarray(0, Math.min(MiB, size - off));
      writeSync(fd, chunk);
      whole.update(chunk);
    }
  } finally {
    closeSync(fd);
  }
  return whole.digest('hex');
}

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

test('a 300 MiB file goes up as a multipart upload and restores byte-identical', async () => {
  const server = await startS3Server({ logRequests: true });
  const bt = new BtHome('bt-s3-large', S3RVER_CREDENTIALS);
  const d = join(bt.work, 'big');
  const out = join(bt.home, 'big.restored');
  try {
    bt.ok(['config', 'init']);
    bt.ok(s3VaultArgs(server, 'cloud', 'large'));
    bt.ok(['config', 'vault', 'remove', 'local']);
    bt.ok(['config', 'vault', 'init']);
    mkdirSync(d);
    const checksum = writeDeterministic(join(d, 'disk.img'), SIZE);
    bt.ok(['dir', 'init'], { cwd: d });
    assert.is(bt.json<{ staged_bytes: number }>(['add'], { cwd: d }).staged_bytes, SIZE);
    const started = Date.now();
    const b = bt.json<{ files: number; bytes_sent: number }>(['backup']);
    const seconds = (Date.now() - started) / 1000;
    assert.is(b.files, 1);
    assert.is(b.bytes_sent, SIZE);
    assert.equal(server.listKeys('large', 'content/'), [`content/${checksum}`]);

    // The upload was multipart: 38 parts of 8 MiB (the last short), each with Content-MD5, no aws-chunked.
    const key = `/large/content/${checksum}`;
    const reqs = server.requests().filter((r) => r.url.startsWith(key));
    const parts = reqs.filter((r) => r.method === 'PUT' && /[?&]partNumber=\d+/.test(r.url));
    assert.is(parts.length, Math.ceil(SIZE / (8 * MiB)), `parts: ${parts.length}`);
    assert.equal(parts.map((p) => p.length).sort((x, y) => x - y).slice(1), Array(parts.length - 1).fill(8 * MiB));
    assert.ok(parts.every((p) => p.md5 && p.encoding === undefined && p.checksumAlgorithm === undefined), JSON.stringify(parts[0]));
    assert.ok(reqs.some((r) => r.method === 'POST' && r.url.includes('uploads')), 'CreateMultipartUpload');
    assert.ok(reqs.some((r) => r.method === 'POST' && r.url.includes('uploadId=')), 'CompleteMultipartUpload');

    const r = bt.json<{ size: number; vault: string }>(['restore', 'disk.img', '--output', out], { cwd: d });
    assert.equal([r.size, r.vault], [SIZE, 'cloud']);
    assert.is(await sha256File(out), checksum);
    console.log(`    300 MiB backup to s3rver: ${seconds.toFixed(1)} s`);
  } finally {
    rmSync(d, { recursive: true, force: true });
    rmSync(out, { force: true });
    await server.stop();
    rmSync(server.directory, { recursive: true, force: true });
    assert.not.ok(existsSync(join(d, 'disk.img')));
  }
});

test.run();
