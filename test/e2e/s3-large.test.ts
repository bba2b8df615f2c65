// A 300 MiB file through an S3 vault: content-defined chunks (ADR 0012), each one PUT with Content-MD5 and its
// SHA-256, then the manifest; back intact; a 1 KiB append sends one chunk. The whole-object multipart path
// (staged copies made before chunking) is covered by the vault contract tests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { appendFileSync, closeSync, createReadStream, existsSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
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

test('a 300 MiB file goes up as chunks, one verified PUT each, restores byte-identical; an append sends one chunk', async () => {
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
    assert.equal(server.listKeys('large', 'content/'), [], 'not stored whole');
    assert.equal(server.listKeys('large', 'manifests/'), [`manifests/${checksum}`]);
    const chunks = server.listKeys('large', 'chunks/').map((k) => k.slice('chunks/'.length));
    assert.ok(chunks.length > SIZE / (4 * MiB) && chunks.length < SIZE / MiB, `${chunks.length} chunks`);

    // Every chunk went up once, as a single PUT (no multipart) carrying Content-MD5 and the SHA-256 its key
    // names, never aws-chunked; the manifest last.
    const reqs = server.requests().filter((r) => r.url.startsWith('/large/')).map((r) => ({ ...r, url: r.url.split('?')[0]! }));
    const chunkPuts = reqs.filter((r) => r.method === 'PUT' && r.url.startsWith('/large/chunks/'));
    assert.equal(chunkPuts.map((p) => p.url.slice('/large/chunks/'.length)).sort(), [...chunks].sort());
    for (const p of chunkPuts) {
      const id = p.url.slice('/large/chunks/'.length);
      assert.ok(p.length > 0 && p.length <= 8 * MiB, `${p.length} bytes`);
      assert.ok(p.md5 && p.encoding === undefined && p.checksumAlgorithm === undefined, JSON.stringify(p));
      assert.is(p.sha256, Buffer.from(id, 'hex').toString('base64'));
    }
    assert.is(chunkPuts.reduce((n, p) => n + p.length, 0), SIZE);
    assert.not.ok(reqs.some((r) => r.method === 'POST'), 'no multipart upload');
    const manifestPut = reqs.findIndex((r) => r.method === 'PUT' && r.url === `/large/manifests/${checksum}`);
    assert.ok(manifestPut > reqs.findLastIndex((r) => r.method === 'PUT' && r.url.startsWith('/large/chunks/')), 'manifest after every chunk');
    const heads = reqs.filter((r) => r.method === 'HEAD' && r.url.startsWith('/large/chunks/')).length;
    console.log(`    first backup: ${chunkPuts.length} chunk PUTs, ${heads} chunk HEADs, ${reqs.length} requests in all`);

    const r = bt.json<{ size: number; vault: string }>(['restore', 'disk.img', '--output', out], { cwd: d });
    assert.equal([r.size, r.vault], [SIZE, 'cloud']);
    assert.is(await sha256File(out), checksum);
    console.log(`    300 MiB backup to s3rver: ${seconds.toFixed(1)} s`);

    // A 1 KiB append: the last chunk changes; every other chunk is found by a HEAD and not sent.
    appendFileSync(join(d, 'disk.img'), Buffer.alloc(1024, 7));
    const before = server.requests().length;
    bt.ok(['add'], { cwd: d });
    const again = bt.json<{ files: number; bytes_sent: number }>(['backup']);
    const second = server.requests().slice(before).filter((r) => r.url.startsWith('/large/')).map((r) => ({ ...r, url: r.url.split('?')[0]! }));
    const puts = second.filter((r) => r.method === 'PUT' && r.url.startsWith('/large/chunks/'));
    console.log(`    1 KiB append: ${again.bytes_sent} bytes in ${puts.length} chunk PUT(s), ${second.length} requests in all`);
    assert.is(again.files, 1);
    assert.ok(again.bytes_sent > 0 && again.bytes_sent <= 8 * MiB + 1024, `${again.bytes_sent} bytes`);
    assert.ok(puts.length >= 1 && puts.length <= 2, `${puts.length} chunk PUTs`);
    // Besides the first-contact probe of the bucket (one HEAD per process, s3-first-contact.ts: add's and
    // backup's) and the journal's requests (its new segment: a look, the PUT, a read-back), the content's
    // requests are about one HEAD per chunk.
    const probes = second.filter((r) => r.method === 'HEAD' && r.url === '/large/').length;
    assert.is(probes, 2);
    const journal = second.filter((r) => r.url.startsWith('/large/metadata/'));
    console.log(`    journal requests: ${journal.map((r) => `${r.method} ${r.url.split('/').pop()}`).join(', ')}`);
    assert.ok(journal.length <= 6, `${journal.length} journal requests`);
    assert.ok(second.length - probes - journal.length < chunks.length + 10, `${second.length} requests`);
  } finally {
    rmSync(d, { recursive: true, force: true });
    rmSync(out, { force: true });
    await server.stop();
    rmSync(server.directory, { recursive: true, force: true });
    assert.not.ok(existsSync(join(d, 'disk.img')));
  }
});

test.run();
