// The Vault contract (src/vaults/vault.ts), run against every implementation: the filesystem vault and the S3
// vault on a real S3-compatible server (s3rver in a child process).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { S3VaultConfig } from '../../src/config/schema.js';
import { BtError } from '../../src/core/errors.js';
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
  /** Overwrites a stored content object's bytes behind the vault's back. */
  corrupt(vault: Vault, checksum: string, bytes: Buffer): void;
  /** Deletes a stored content object behind the vault's back. */
  remove(vault: Vault, checksum: string): void;
}

const fsImpl: Implementation = {
  label: 'FileSystemVault',
  fresh: () => new FileSystemVault('disk', join(tempDir('bt-contract-fs'), 'vault')),
  corrupt(vault, checksum, bytes) {
    const path = (vault as FileSystemVault).contentPath(checksum);
    chmodSync(path, 0o600);
    writeFileSync(path, bytes);
  },
  remove: (vault, checksum) => rmSync((vault as FileSystemVault).contentPath(checksum)),
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
  corrupt(vault, checksum, bytes) {
    const c = s3Configs.get(vault)!;
    writeFileSync(server.objectFile(c.content_bucket, `${c.content_bucket_prefix}content/${checksum}`), bytes);
  },
  remove(vault, checksum) {
    const c = s3Configs.get(vault)!;
    rmSync(server.objectFile(c.content_bucket, `${c.content_bucket_prefix}content/${checksum}`));
  },
};

/** A staged copy as backup would hand it over: a file bt owns that never changes. */
function staged(bytes: Buffer): { path: string; checksum: string; size: number } {
  const path = join(tempDir('bt-contract-staged'), 'staged');
  writeFileSync(path, bytes);
  return { path, checksum: sha(bytes), size: bytes.length };
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
    assert.match((err as Error).message, /is not set up|no such bucket/);
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

  t.run();
}

contract(fsImpl);
contract(s3Impl);
