// The Vault contract (src/vaults/vault.ts), run against every implementation: the filesystem vault and the S3
// vault on a real S3-compatible server (s3rver in a child process). Whole and chunked content (ADR 0012).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { S3VaultConfig } from '../../src/config/schema.js';
import { BtError } from '../../src/core/errors.js';
import { chunkFileInto } from '../../src/fs/chunked-copy.js';
import { chunkSourceFrom } from '../../src/vaults/chunked-content.js';
import { FileSystemVault } from '../../src/vaults/fs-vault.js';
import { S3Vault } from '../../src/vaults/s3-vault.js';
import { type Vault, VaultObjectError } from '../../src/vaults/vault.js';
import { type S3Server, startS3Server } from '../support/s3-server.js';
import { tempDir } from '../support/tmp.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

interface Implementation {
  readonly label: string;
  /** A vault that was never set up. */
  fresh(): Vault;
  /** The same vault opened anew, as the next bt run would. */
  reopen(vault: Vault): Vault;
  /** Overwrites a stored content object's bytes behind the vault's back. */
  corrupt(vault: Vault, checksum: string, bytes: Buffer): void;
  /** Deletes a stored content object behind the vault's back. */
  remove(vault: Vault, checksum: string): void;
  /** Overwrites a stored chunk's bytes behind the vault's back. */
  corruptChunk(vault: Vault, id: string, bytes: Buffer): void;
  /** Deletes a stored chunk, or a chunked content's manifest, behind the vault's back. */
  removeChunk(vault: Vault, id: string): void;
  removeManifest(vault: Vault, checksum: string): void;
  /** Makes a set-up vault look like one written before chunking existed (nothing but content/ and metadata/). */
  makeOldLayout(vault: Vault): void;
}

const fsImpl: Implementation = {
  label: 'FileSystemVault',
  fresh: () => new FileSystemVault('disk', join(tempDir('bt-contract-fs'), 'vault')),
  reopen: (vault) => new FileSystemVault(vault.name, (vault as FileSystemVault).root),
  corrupt(vault, checksum, bytes) {
    const path = (vault as FileSystemVault).contentPath(checksum);
    chmodSync(path, 0o600);
    writeFileSync(path, bytes);
  },
  remove: (vault, checksum) => rmSync((vault as FileSystemVault).contentPath(checksum)),
  corruptChunk(vault, id, bytes) {
    const path = (vault as FileSystemVault).chunkPath(id);
    chmodSync(path, 0o600);
    writeFileSync(path, bytes);
  },
  removeChunk: (vault, id) => rmSync((vault as FileSystemVault).chunkPath(id)),
  removeManifest: (vault, checksum) => rmSync((vault as FileSystemVault).manifestPath(checksum)),
  makeOldLayout(vault) {
    const root = (vault as FileSystemVault).root;
    for (const dir of ['manifests', 'chunks']) rmSync(join(root, dir), { recursive: true });
  },
};

const server: S3Server = await startS3Server();
let bucketSerial = 0;
const s3Configs = new Map<Vault, S3VaultConfig>();
const s3Impl: Implementation = {
  label: 'S3Vault',
  fresh() {
    const bucket = `bt-contract-${process.pid}-${bucketSerial++}`;
    const config: S3VaultConfig = {
      name: 'cloud',
      type: 's3',
      content_bucket: bucket,
      content_bucket_prefix: 'laptop/',
      metadata_bucket: bucket,
      metadata_bucket_prefix: 'laptop/metadata/',
      endpoint: server.endpoint,
      region: 'us-east-1',
      force_path_style: true,
      access_key_id: 'S3RVER',
      secret_access_key: 'S3RVER',
    };
    const vault = new S3Vault(config);
    s3Configs.set(vault, config);
    return vault;
  },
  reopen(vault) {
    const config = s3Configs.get(vault)!;
    const again = new S3Vault(config);
    s3Configs.set(again, config);
    return again;
  },
  corrupt(vault, checksum, bytes) {
    const c = s3Configs.get(vault)!;
    writeFileSync(server.objectFile(c.content_bucket, `${c.content_bucket_prefix}content/${checksum}`), bytes);
  },
  remove(vault, checksum) {
    const c = s3Configs.get(vault)!;
    rmSync(server.objectFile(c.content_bucket, `${c.content_bucket_prefix}content/${checksum}`));
  },
  corruptChunk(vault, id, bytes) {
    const c = s3Configs.get(vault)!;
    writeFileSync(server.objectFile(c.content_bucket, `${c.content_bucket_prefix}chunks/${id}`), bytes);
  },
  removeChunk(vault, id) {
    const c = s3Configs.get(vault)!;
    rmSync(server.objectFile(c.content_bucket, `${c.content_bucket_prefix}chunks/${id}`));
  },
  removeManifest(vault, checksum) {
    const c = s3Configs.get(vault)!;
    rmSync(server.objectFile(c.content_bucket, `${c.content_bucket_prefix}manifests/${checksum}`));
  },
  makeOldLayout() {}, // keys under a prefix: there is no layout to create
};

/** A staged copy as backup would hand it over: a file bt owns that never changes. */
function staged(bytes: Buffer): { path: string; checksum: string; size: number } {
  const path = join(tempDir('bt-contract-staged'), 'staged');
  writeFileSync(path, bytes);
  return { path, checksum: sha(bytes), size: bytes.length };
}

interface StagedChunks {
  readonly path: string;
  readonly checksum: string;
  readonly size: number;
  /** [chunk id, length] in file order, as the manifest lists them. */
  readonly chunks: readonly (readonly [string, number])[];
}

/** A chunked staged copy as `bt add` leaves a large file: a directory of chunk files and manifest.json. */
function stagedChunks(bytes: Buffer): StagedChunks {
  const src = join(tempDir('bt-contract-src'), 'file');
  writeFileSync(src, bytes);
  const path = join(tempDir('bt-contract-staged'), 'stage');
  const r = chunkFileInto(src, path);
  rmSync(src);
  const manifest = JSON.parse(readFileSync(join(path, 'manifest.json'), 'utf8')) as { chunks: [string, number][] };
  return { path, checksum: r.sha256, size: r.size, chunks: manifest.chunks };
}

/** Bytes of the chunks of `next` that `prior` does not have: what storing `next` after `prior` must send. */
function newChunkBytes(prior: StagedChunks, next: StagedChunks): number {
  const had = new Set(prior.chunks.map(([id]) => id));
  const fresh = new Map(next.chunks.filter(([id]) => !had.has(id)));
  return [...fresh.values()].reduce((a, b) => a + b, 0);
}

/** The vault verifies the content by reading it, and gives back bytes with its checksum. */
async function assertVerifiesAndRestores(v: Vault, checksum: string): Promise<void> {
  await v.verifyContent(checksum, true);
  const out = join(tempDir('bt-contract-out'), 'restored');
  await v.getContent(checksum, out);
  assert.is(sha(readFileSync(out)), checksum);
}

/** Last changed two days ago: older than any sweep's age limit. */
function makeOld(...paths: string[]): void {
  const twoDaysAgo = new Date(Date.now() - 2 * 24 * 3600 * 1000);
  for (const p of paths) utimesSync(p, twoDaysAgo, twoDaysAgo);
}

async function rejects(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/** Deterministic bytes of any length (a counter through SHA-256), so large objects differ from each other. */
function bytesOf(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < length; i += 32) {
    block.copy(out, i);
    block = createHash('sha256').update(block).digest();
  }
  return out;
}

function contract(impl: Implementation): void {
  const t = suite(`vault contract: ${impl.label}`);
  const ready = async (): Promise<Vault> => {
    const v = impl.fresh();
    await v.validateSetup();
    return v;
  };

  t('a vault that was never set up refuses to store anything and says so', async () => {
    const v = impl.fresh();
    const err = await rejects(v.putMetadata('hosts/h/journal/1-1.ndjson.gz', Buffer.from('x')));
    assert.instance(err, BtError);
    assert.match((err as Error).message, /is not set up|is not there|no such bucket/);
    v.close();
  });

  t('validateSetup creates what is missing, proves write/read/delete, and can run again', async () => {
    const v = impl.fresh();
    const first = await v.validateSetup();
    assert.ok(first.steps.some((s) => /write, read-back and delete of a probe object: ok/.test(s)), first.steps.join('\n'));
    assert.ok(first.steps.some((s) => /created/.test(s)), first.steps.join('\n'));
    const second = await v.validateSetup();
    assert.ok(second.steps.some((s) => /found/.test(s)), second.steps.join('\n'));
    assert.not.ok(second.steps.some((s) => /created/.test(s)), second.steps.join('\n'));
    // Probes are deleted: nothing is left but what the layout needs.
    assert.equal(await v.listMetadata(''), []);
    v.close();
  });

  t('put, has and get: the bytes come back verified; a second put sends nothing', async () => {
    const v = await ready();
    const bytes = randomBytes(100_000);
    const s = staged(bytes);
    assert.is(await v.hasContent(s.checksum), false);
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: s.size });
    await v.flush();
    assert.is(await v.hasContent(s.checksum), true);
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: 0 });
    const out = join(tempDir('bt-contract-out'), 'restored');
    await v.getContent(s.checksum, out);
    assert.ok(readFileSync(out).equals(bytes));
    // The staged copy is the caller's: the vault leaves it in place.
    assert.ok(readFileSync(s.path).equals(bytes));
    v.close();
  });

  t('an empty file and a file larger than one multipart part round-trip byte for byte', async () => {
    const v = await ready();
    for (const bytes of [Buffer.alloc(0), bytesOf('large', 20 * 1024 * 1024 + 12345)]) {
      const s = staged(bytes);
      assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: s.size });
      assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: 0 });
      const out = join(tempDir('bt-contract-out'), 'restored');
      await v.getContent(s.checksum, out);
      assert.is(sha(readFileSync(out)), s.checksum);
    }
    v.close();
  });

  t('a missing object is VaultObjectError("missing") and leaves no output', async () => {
    const v = await ready();
    const s = staged(randomBytes(5000));
    await v.putContent(s.checksum, s.path, s.size);
    impl.remove(v, s.checksum);
    assert.is(await v.hasContent(s.checksum), false);
    const dir = tempDir('bt-contract-out');
    for (const checksum of [s.checksum, sha(Buffer.from('never stored'))]) {
      const err = await rejects(v.getContent(checksum, join(dir, 'out')));
      assert.instance(err, VaultObjectError);
      assert.is((err as VaultObjectError).problem, 'missing');
    }
    assert.equal(readdirSync(dir), []);
    v.close();
  });

  t('a get that runs out of space leaves no output and no temporary file (small, large and chunked content)', async () => {
    const dir = tempDir('bt-contract-full');
    if (process.getuid?.() !== 0 || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir]).status !== 0) {
      console.log('NOT RUN: needs root to mount a small tmpfs');
      return;
    }
    const v = await ready();
    try {
      const small = staged(bytesOf('full-small', 300_000));
      const large = staged(bytesOf('full-large', 5 * 1024 * 1024));
      const chunked = stagedChunks(bytesOf('full-chunked', 9 * 1024 * 1024 + 7));
      for (const s of [small, large, chunked]) await v.putContent(s.checksum, s.path, s.size);
      for (const [k, s] of [small, large, chunked].entries()) {
        const err = await rejects(v.getContent(s.checksum, join(dir, `out-${k}`)));
        assert.match(String((err as Error).message), /ENOSPC|no space/i);
        assert.equal(readdirSync(dir), [], `content ${k}`);
      }
    } finally {
      v.close();
      spawnSync('umount', [dir]);
    }
  });

  t('a corrupted object is detected on read: VaultObjectError("corrupt"), no output, no temporary file', async () => {
    const v = await ready();
    const bytes = randomBytes(64 * 1024);
    const s = staged(bytes);
    await v.putContent(s.checksum, s.path, s.size);
    const flipped = Buffer.from(bytes);
    flipped[1000] = flipped[1000]! ^ 0xff;
    impl.corrupt(v, s.checksum, flipped);
    const dir = tempDir('bt-contract-out');
    const out = join(dir, 'restored');
    const err = await rejects(v.getContent(s.checksum, out));
    assert.instance(err, VaultObjectError);
    assert.is((err as VaultObjectError).problem, 'corrupt');
    assert.match((err as Error).message, /is corrupt/);
    assert.not.ok(existsSync(out));
    assert.equal(readdirSync(dir), []);
    // A truncated object is corrupt too.
    impl.corrupt(v, s.checksum, bytes.subarray(0, 100));
    assert.is(((await rejects(v.getContent(s.checksum, out))) as VaultObjectError).problem, 'corrupt');
    assert.equal(readdirSync(dir), []);
    v.close();
  });

  t('an object cut short is not held: has with the length says no, verify without data says corrupt, a put replaces it', async () => {
    const v = await ready();
    const bytes = randomBytes(64 * 1024);
    const s = staged(bytes);
    await v.putContent(s.checksum, s.path, s.size);
    impl.corrupt(v, s.checksum, bytes.subarray(0, 100));
    const reopened = impl.reopen(v);
    assert.is(await reopened.hasContent(s.checksum), true, 'without a length: only whether it is there');
    assert.is(await reopened.hasContent(s.checksum, s.size), false);
    assert.is(((await rejects(reopened.verifyContent(s.checksum, false, s.size))) as VaultObjectError).problem, 'corrupt');
    const again = staged(bytes);
    const r = await reopened.putContent(again.checksum, again.path, again.size);
    assert.is(r.sent, bytes.length);
    await reopened.flush();
    await reopened.verifyContent(s.checksum, false, s.size);
    await assertVerifiesAndRestores(reopened, s.checksum);
    reopened.close();
    v.close();
  });

  t('metadata: put, get, identical put is a no-op, different bytes are refused, missing key', async () => {
    const v = await ready();
    const key = 'hosts/01HZZZZZZZZZZZZZZZZZZZZZZZ/journal/00000000000000000001-00000000000000000002.ndjson.gz';
    const data = randomBytes(3000);
    await v.putMetadata(key, data);
    assert.ok((await v.getMetadata(key)).equals(data));
    await v.putMetadata(key, Buffer.from(data));
    const err = await rejects(v.putMetadata(key, Buffer.concat([data, Buffer.from('x')])));
    assert.instance(err, BtError);
    assert.match((err as Error).message, /exists with other bytes; refusing to overwrite it/);
    assert.ok((await v.getMetadata(key)).equals(data), 'the first bytes are kept');
    const missing = await rejects(v.getMetadata('hosts/none/journal/1-1.ndjson.gz'));
    assert.instance(missing, VaultObjectError);
    assert.is((missing as VaultObjectError).problem, 'missing');
    assert.match(String(await rejects(v.putMetadata('../escape', data))), /invalid metadata key/);
    // Only a repair replaces a key's bytes (a damaged segment written again), and a missing one is written.
    const mended = randomBytes(2000);
    await v.replaceMetadata(key, mended);
    assert.ok((await v.getMetadata(key)).equals(mended));
    const gap = 'hosts/01HZZZZZZZZZZZZZZZZZZZZZZZ/journal/00000000000000000003-00000000000000000004.ndjson.gz';
    await v.replaceMetadata(gap, data);
    assert.ok((await v.getMetadata(gap)).equals(data));
    assert.match(String(await rejects(v.replaceMetadata('../escape', data))), /invalid metadata key/);
    v.close();
  });

  t('listMetadata: keys under a prefix, relative to the metadata root, sorted, across pages', async () => {
    const v = await ready();
    const keys = Array.from({ length: 1003 }, (_, i) => `hosts/a/journal/${String(1003 - i).padStart(5, '0')}.gz`);
    for (let i = 0; i < keys.length; i += 25) await Promise.all(keys.slice(i, i + 25).map((k) => v.putMetadata(k, Buffer.from(k))));
    await v.putMetadata('hosts/b/journal/00001.gz', Buffer.from('b'));
    await v.putMetadata('hosts/ab/other.gz', Buffer.from('ab'));
    const listed = await v.listMetadata('hosts/a/');
    assert.is(listed.length, 1003);
    assert.equal(listed, [...keys].sort());
    assert.equal(await v.listMetadata('hosts/b/'), ['hosts/b/journal/00001.gz']);
    assert.equal(await v.listMetadata('hosts/ab'), ['hosts/ab/other.gz']);
    assert.equal(await v.listMetadata('hosts/c/'), []);
    assert.is((await v.listMetadata('')).length, 1005);
    v.close();
  });

  const MiB = 1024 * 1024;
  const large = bytesOf('chunked', 21 * MiB + 777);

  t('forgetCaches: a chunk removed behind the vault after it was seen is stored again by the next put', async () => {
    const v = await ready();
    const s = stagedChunks(large);
    await v.putContent(s.checksum, s.path, s.size);
    await v.flush();
    // Another bt removed a chunk meanwhile (a repair), while this one did not hold the host lock.
    const [lostId, lostLength] = s.chunks[1]!;
    impl.removeChunk(v, lostId);
    v.forgetCaches();
    // A second content sharing that chunk: its manifest must not name a chunk the vault no longer has.
    const next = stagedChunks(Buffer.concat([large, bytesOf('appended', 1024)]));
    assert.ok(next.chunks.some(([id]) => id === lostId));
    const r = await v.putContent(next.checksum, next.path, next.size);
    assert.ok(r.sent >= lostLength, `${r.sent} bytes sent`);
    await v.flush();
    await assertVerifiesAndRestores(v, next.checksum);
    v.close();
  });

  t('chunked content: each chunk stored once, then the manifest; has, verify and get; a second put sends nothing', async () => {
    const v = await ready();
    const s = stagedChunks(large);
    assert.ok(s.chunks.length >= 5, `${s.chunks.length} chunks`);
    const files = readdirSync(s.path).sort();
    assert.is(await v.hasContent(s.checksum), false);
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: s.size, chunks: s.chunks.length });
    await v.flush();
    assert.is(await v.hasContent(s.checksum), true);
    await v.verifyContent(s.checksum, false);
    await v.verifyContent(s.checksum, true);
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: 0, chunks: s.chunks.length });
    const out = join(tempDir('bt-contract-out'), 'restored');
    await v.getContent(s.checksum, out);
    assert.is(sha(readFileSync(out)), s.checksum);
    assert.equal(readdirSync(s.path).sort(), files, 'without consume the staged directory is left whole');

    // A new version with 1 KiB inserted in the middle: only the chunks around the insertion are sent.
    const mid = 10 * MiB + 5;
    const next = stagedChunks(Buffer.concat([large.subarray(0, mid), bytesOf('inserted', 1024), large.subarray(mid)]));
    const expected = newChunkBytes(s, next);
    assert.ok(expected > 0 && expected < 3 * 8 * MiB, `${expected} new bytes`);
    assert.equal(await v.putContent(next.checksum, next.path, next.size), { sent: expected, chunks: next.chunks.length });
    const nextOut = join(tempDir('bt-contract-out'), 'next');
    await v.getContent(next.checksum, nextOut);
    assert.is(sha(readFileSync(nextOut)), next.checksum);
    v.close();
  });

  t('a staged directory that leaves out chunks: chunksOf and readChunk of another vault supply them, verified', async () => {
    const holder = await ready();
    const s = stagedChunks(large);
    await holder.putContent(s.checksum, s.path, s.size);
    await holder.flush();
    assert.equal(await holder.chunksOf(s.checksum), [...new Map(s.chunks.map(([id, length]) => [id, length]))]);
    const [someId, someLength] = s.chunks[1]!;
    assert.is((await holder.readChunk(someId))?.length, someLength);
    assert.is(await holder.readChunk('0'.repeat(64)), undefined);
    assert.is(await holder.hasChunk(someId, someLength), true);
    assert.is(await holder.hasChunk('0'.repeat(64), someLength), false);

    // As `bt add` stages a new version whose unchanged chunks every vault held: only a few chunk files.
    const left = s.chunks.slice(2).map(([id]) => id);
    for (const id of left) rmSync(join(s.path, id));
    const target = await ready();
    const err = await rejects(target.putContent(s.checksum, s.path, s.size));
    assert.match((err as Error).message, /has no chunk [0-9a-f]{12}/);
    assert.is(await target.hasContent(s.checksum), false, 'no manifest without every chunk');
    const source = chunkSourceFrom([holder]);
    // The failed put may have stored the staged chunks before it stopped; what it lacked came from the source.
    const fromSource = new Map(s.chunks.slice(2)).size === left.length ? s.chunks.slice(2).reduce((n, [, len]) => n + len, 0) : -1;
    const put = await target.putContent(s.checksum, s.path, s.size, { chunkSource: source });
    assert.is(put.chunks, s.chunks.length);
    assert.ok(put.sent >= fromSource && put.sent <= s.size, `${put.sent} bytes sent, ${fromSource} of them from the source`);
    await target.flush();
    await target.verifyContent(s.checksum, true);
    // A damaged chunk in the only holder is never passed on.
    impl.corruptChunk(holder, left[0]!, Buffer.from('not the chunk'));
    const bad = await rejects(chunkSourceFrom([holder])(left[0]!, s.chunks[2]![1]));
    assert.match((bad as Error).message, /no vault has it intact now/);
    holder.close();
    target.close();
  });

  t('a chunked put cut off before its manifest resumes: only the chunks still missing are sent', async () => {
    const first = await ready();
    const s = stagedChunks(large);
    await first.putContent(s.checksum, s.path, s.size);
    first.close();
    // As if the put had been killed after all but one chunk: no manifest, one chunk absent. The next run:
    const [lost, length] = s.chunks[3]!;
    impl.removeManifest(first, s.checksum);
    impl.removeChunk(first, lost);
    const v = impl.reopen(first);
    assert.is(await v.hasContent(s.checksum), false, 'without its manifest the content is not there');
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: length, chunks: s.chunks.length });
    await v.verifyContent(s.checksum, true);
    v.close();
  });

  t('a missing chunk: get and verify say missing, naming the chunk; no output is left', async () => {
    const v = await ready();
    const s = stagedChunks(large);
    await v.putContent(s.checksum, s.path, s.size);
    const [lost] = s.chunks[1]!;
    impl.removeChunk(v, lost);
    assert.is(await v.hasContent(s.checksum), true, 'hasContent looks at the manifest only');
    const dir = tempDir('bt-contract-out');
    for (const attempt of [() => v.getContent(s.checksum, join(dir, 'out')), () => v.verifyContent(s.checksum, false), () => v.verifyContent(s.checksum, true)]) {
      const err = await rejects(attempt());
      assert.instance(err, VaultObjectError);
      assert.is((err as VaultObjectError).problem, 'missing');
      assert.is((err as VaultObjectError).key, `chunks/${lost}`);
    }
    assert.equal(readdirSync(dir), []);
    v.close();
  });

  t('a corrupt chunk is detected on read (get, verify with data); a repair put replaces just that chunk', async () => {
    const v = await ready();
    const s = stagedChunks(large);
    await v.putContent(s.checksum, s.path, s.size);
    const [bad, length] = s.chunks[2]!;
    const original = readFileSync(join(s.path, bad));
    const flipped = Buffer.from(original);
    flipped[100] = flipped[100]! ^ 0xff;
    impl.corruptChunk(v, bad, flipped);
    const dir = tempDir('bt-contract-out');
    const err = await rejects(v.getContent(s.checksum, join(dir, 'out')));
    assert.instance(err, VaultObjectError);
    assert.is((err as VaultObjectError).problem, 'corrupt');
    assert.is((err as VaultObjectError).key, `chunks/${bad}`);
    assert.equal(readdirSync(dir), [], 'no output, no temporary file');
    await v.verifyContent(s.checksum, false); // present, so existence alone passes
    assert.is(((await rejects(v.verifyContent(s.checksum, true))) as VaultObjectError).problem, 'corrupt');
    // A truncated chunk is corrupt too.
    impl.corruptChunk(v, bad, original.subarray(0, 1000));
    assert.is(((await rejects(v.getContent(s.checksum, join(dir, 'out')))) as VaultObjectError).problem, 'corrupt');
    // An ordinary put stores again a chunk it has in hand that is there cut short (a stat or a HEAD sees
    // the length), and trusts one of the right length; a repair put verifies every chunk and rewrites the bad one.
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: length, chunks: s.chunks.length });
    assert.is(await v.hasChunk(bad, length), true);
    impl.corruptChunk(v, bad, flipped);
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: 0, chunks: s.chunks.length });
    await v.removeContent!(s.checksum);
    assert.is(await v.hasContent(s.checksum), false);
    assert.equal(await v.putContent(s.checksum, s.path, s.size, { repair: true }), { sent: length, chunks: s.chunks.length });
    await v.flush();
    await v.verifyContent(s.checksum, true);
    v.close();
  });

  t('a vault written before chunking (whole objects only) reads unchanged, and takes chunked content', async () => {
    const v = await ready();
    impl.makeOldLayout(v);
    // A large content stored whole, as every bt before chunking did.
    const whole = bytesOf('old-layout', 9 * MiB + 3);
    const old = staged(whole);
    assert.equal(await v.putContent(old.checksum, old.path, old.size), { sent: old.size });
    assert.is(await v.hasContent(old.checksum), true);
    await v.verifyContent(old.checksum, true);
    const out = join(tempDir('bt-contract-out'), 'old');
    await v.getContent(old.checksum, out);
    assert.ok(readFileSync(out).equals(whole));
    // The same content staged chunked by a newer bt: the vault already has it; nothing is sent.
    const again = stagedChunks(whole);
    assert.equal(await v.putContent(again.checksum, again.path, again.size), { sent: 0 });
    // New content goes in chunked beside the old objects.
    const s = stagedChunks(large);
    assert.equal(await v.putContent(s.checksum, s.path, s.size), { sent: s.size, chunks: s.chunks.length });
    await v.verifyContent(s.checksum, true);
    v.close();
  });

  t('with consume a chunk directory may be taken apart; the content is stored whole and intact', async () => {
    const v = await ready();
    const s = stagedChunks(large);
    const r = await v.putContent(s.checksum, s.path, s.size, { consume: true });
    assert.equal([r.sent, r.chunks], [s.size, s.chunks.length]);
    await v.flush();
    await assertVerifiesAndRestores(v, s.checksum);
    v.close();
  });

  t.run();
}

contract(fsImpl);
contract(s3Impl);

const fsOnly = suite('FileSystemVault: durability and housekeeping');

fsOnly('an object already in the vault stands for a put only after the next flush makes it durable', async () => {
  // A run killed after writing the objects and before flushing them: the next run finds them there.
  const first = fsImpl.fresh() as FileSystemVault;
  await first.validateSetup();
  const whole = staged(randomBytes(50_000));
  const chunked = stagedChunks(bytesOf('durable', 9 * 1024 * 1024 + 5));
  await first.putContent(whole.checksum, whole.path, whole.size);
  await first.putContent(chunked.checksum, chunked.path, chunked.size);
  const later = fsImpl.reopen(first) as FileSystemVault;
  assert.equal(later.pendingFlush(), []);
  assert.is((await later.putContent(whole.checksum, whole.path, whole.size)).sent, 0);
  assert.is((await later.putContent(chunked.checksum, chunked.path, chunked.size)).sent, 0);
  const chunkPaths = [...new Set(chunked.chunks.map(([id]) => later.chunkPath(id)))];
  assert.equal(
    [...later.pendingFlush()].sort(),
    [later.contentPath(whole.checksum), later.manifestPath(chunked.checksum), ...chunkPaths].sort(),
  );
  await later.flush();
  assert.equal(later.pendingFlush(), []);
  first.close();
  later.close();
});

fsOnly('a vault whose disk is unmounted under a running bt: nothing is written to the empty mount point', async () => {
  const v = fsImpl.fresh() as FileSystemVault;
  await v.validateSetup();
  // Contents with one two-letter directory in common, so the second put finds its directory made.
  const bodies = Array.from({ length: 400 }, (_, i) => Buffer.from(`body ${i}`));
  const first = bodies.find((b) => sha(b).startsWith('0'))!;
  const sameDir = bodies.find((b) => b !== first && sha(b).slice(0, 2) === sha(first).slice(0, 2));
  const otherDir = bodies.find((b) => !sha(b).startsWith(sha(first).slice(0, 2)))!;
  const put = (b: Buffer): Promise<unknown> => v.putContent(sha(b), staged(b).path, b.length);
  await put(first);
  await v.flush();
  // Unmounted: the same path is now an empty directory on another disk.
  renameSync(v.root, `${v.root}.disk`);
  mkdirSync(v.root);
  const errors = [];
  // A put into a directory made before (cached) fails as ENOENT; said as the vault's marker gone, and a
  // lookup then fails too (so a backup marks the vault unavailable instead of failing file after file).
  assert.ok(sameDir, 'two bodies share a directory');
  errors.push(await rejects(v.putContent(sha(sameDir), staged(sameDir).path, sameDir.length, { consume: true })));
  errors.push(await rejects(v.hasContent(sha(first))));
  errors.push(await rejects(put(otherDir)));
  errors.push(await rejects(v.putMetadata('hosts/h/journal/1-1.ndjson.gz', Buffer.from('x'))));
  for (const e of errors) assert.match(String(e), /is not set up \(no bt-vault\.json\)/);
  assert.equal(readdirSync(v.root), [], 'the mount point stays empty');
  v.close();
});

fsOnly('temporary files a killed put left a day ago are removed when the vault is next used; younger ones stay', async () => {
  const v = fsImpl.fresh() as FileSystemVault;
  await v.validateSetup();
  const tmp = join(v.root, 'tmp');
  const old = join(tmp, `${sha(Buffer.from('old'))}.0123456789ab`);
  const young = join(tmp, `${sha(Buffer.from('young'))}.0123456789ab`);
  writeFileSync(old, 'partial');
  writeFileSync(young, 'another host, under way');
  makeOld(old);
  const later = fsImpl.reopen(v) as FileSystemVault;
  assert.is(await later.hasContent(sha(Buffer.from('anything'))), false);
  assert.not.ok(existsSync(old));
  assert.is(readFileSync(young, 'utf8'), 'another host, under way');
  v.close();
  later.close();
});

fsOnly('metadata temporaries a killed write left a day ago are removed when the host next writes beside them; keys and younger ones stay', async () => {
  const v = fsImpl.fresh() as FileSystemVault;
  await v.validateSetup();
  await v.putMetadata('hosts/h/journal/1-1.ndjson.gz', Buffer.from('one'));
  const dir = join(v.root, 'metadata/hosts/h/journal');
  const old = join(dir, '.2-2.ndjson.gz.bt-tmp-0123456789ab');
  const young = join(dir, '.3-3.ndjson.gz.bt-tmp-0123456789ab');
  const oldKey = join(dir, '1-1.ndjson.gz');
  const notOurs = join(dir, '.notes');
  writeFileSync(old, 'half');
  writeFileSync(young, 'under way');
  writeFileSync(notOurs, 'kept');
  makeOld(old, oldKey, notOurs);
  const later = fsImpl.reopen(v) as FileSystemVault;
  await later.putMetadata('hosts/h/journal/2-2.ndjson.gz', Buffer.from('two'));
  assert.not.ok(existsSync(old));
  assert.is(readFileSync(young, 'utf8'), 'under way');
  assert.is(readFileSync(notOurs, 'utf8'), 'kept');
  assert.is((await later.getMetadata('hosts/h/journal/1-1.ndjson.gz')).toString(), 'one');
  assert.equal(await later.listMetadata('hosts/h/journal/'), ['hosts/h/journal/1-1.ndjson.gz', 'hosts/h/journal/2-2.ndjson.gz']);
  v.close();
  later.close();
});

fsOnly.run();
