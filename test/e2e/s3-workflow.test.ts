// The workflow on an S3 vault (s3rver in a child process) and on an fs + S3 pair, through the real binary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BtHome } from '../support/cli.js';
import { modeOf, vaultObjects } from '../support/files.js';
import { S3RVER_CREDENTIALS, s3VaultArgs, startS3Server } from '../support/s3-server.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const server = await startS3Server({ logRequests: true });

interface LogJson {
  versions: { version: number; checksum: string; mode: string; mtime: string; vaults: string[] }[];
}

test('the story on S3 only: two versions come back with their bytes, mode and mtime', () => {
  const bt = new BtHome('bt-s3-story', S3RVER_CREDENTIALS);
  bt.ok(['config', 'init']);
  const added = bt.ok(s3VaultArgs(server, 'cloud', 'story', ['--prefix', 'laptop', '--storage-class', 'STANDARD_IA']));
  assert.match(added, /added vault cloud: s3 bucket story\/laptop\/ \(metadata story\/laptop\/metadata\/\)/);
  assert.match(bt.ok(['config', 'vault', 'remove', 'local']), /removed vault "local"/);
  const init = bt.ok(['config', 'vault', 'init']);
  assert.match(init, /vault "cloud": created bucket "story"/);
  assert.match(init, /vault "cloud": s3:\/\/story\/laptop\/: write, read-back and delete of a probe object: ok/);
  assert.match(init, /vault "cloud": s3:\/\/story\/laptop\/metadata\/: write, read-back and delete of a probe object: ok/);
  assert.not.match(init, /local/);

  const docs = join(bt.work, 'docs');
  mkdirSync(docs);
  bt.ok(['dir', 'init'], { cwd: docs });
  const file = join(docs, 'notes.txt');
  const v1 = Buffer.from('first version\n');
  writeFileSync(file, v1);
  chmodSync(file, 0o644);
  utimesSync(file, new Date('2024-01-02T03:04:05.678Z'), new Date('2024-01-02T03:04:05.678Z'));
  const mtime1 = statSync(file, { bigint: true }).mtimeNs;
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: docs }).staged, 1);
  const b1 = bt.json<{ files: number; bytes_sent: number; journal: { vault: string; events: number }[] }>(['backup']);
  assert.is(b1.files, 1);
  assert.is(b1.bytes_sent, v1.length);
  assert.equal(b1.journal.map((j) => j.vault), ['cloud']);

  const v2 = Buffer.from('second version, longer\n');
  writeFileSync(file, v2);
  chmodSync(file, 0o600);
  utimesSync(file, new Date('2025-05-06T07:08:09.123Z'), new Date('2025-05-06T07:08:09.123Z'));
  const mtime2 = statSync(file, { bigint: true }).mtimeNs;
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: docs }).staged, 1);
  assert.is(bt.json<{ files: number; bytes_sent: number }>(['backup']).bytes_sent, v2.length);

  const log = bt.json<LogJson>(['log', 'notes.txt'], { cwd: docs });
  assert.equal(log.versions.map((v) => v.version), [2, 1]);
  assert.equal(log.versions.map((v) => v.checksum), [sha(v2), sha(v1)]);
  assert.equal(log.versions.map((v) => v.mode), ['0600', '0644']);
  assert.equal(log.versions.map((v) => v.vaults), [['cloud'], ['cloud']]);
  assert.match(bt.ok(['log', 'notes.txt'], { cwd: docs }), /stored in: cloud/);

  for (const [n, bytes, mode, mtime] of [[1, v1, 0o644, mtime1], [2, v2, 0o600, mtime2]] as const) {
    const target = join(bt.home, `restored-v${n}`);
    const r = bt.json<{ vault: string }>(['restore', 'notes.txt', '--version', String(n), '--output', target], { cwd: docs });
    assert.is(r.vault, 'cloud');
    assert.equal(readFileSync(target), bytes);
    assert.is(modeOf(target), mode);
    const restored = statSync(target, { bigint: true }).mtimeNs;
    const diff = restored > mtime ? restored - mtime : mtime - restored;
    assert.ok(diff <= 1000n, `mtime of v${n}: ${restored} vs ${mtime}`);
  }

  // The layout of ADR 0007, and nothing in the removed local vault.
  const keys = server.listKeys('story');
  assert.equal(keys.filter((k) => k.startsWith('laptop/content/')).sort(), [`laptop/content/${sha(v1)}`, `laptop/content/${sha(v2)}`].sort());
  assert.ok(keys.some((k) => /^laptop\/metadata\/hosts\/[0-9A-Z]{26}\/journal\/.+\.ndjson\.gz$/.test(k)), keys.join('\n'));
  assert.equal(keys.filter((k) => !k.startsWith('laptop/content/') && !k.startsWith('laptop/metadata/hosts/')), []);
  assert.equal(vaultObjects(bt.vault), []);

  // What went over the wire: no aws-chunked framing; every body with Content-MD5; content PUTs with the
  // SHA-256 the server can verify and the configured storage class (journal segments keep the default).
  const puts = server.requests().filter((r) => r.method === 'PUT' && r.url.startsWith('/story/laptop/')).map((r) => ({ ...r, url: r.url.split('?')[0]! }));
  assert.ok(puts.length >= 4, JSON.stringify(puts));
  for (const p of puts) {
    assert.is(p.encoding, undefined, p.url);
    assert.not.match(p.contentSha256 ?? '', /STREAMING/, p.url);
    assert.ok(p.md5, `Content-MD5 on ${p.url}`);
    assert.ok(p.sha256, `x-amz-checksum-sha256 on ${p.url}`);
  }
  const contentPut = puts.find((p) => p.url === `/story/laptop/content/${sha(v1)}`)!;
  assert.is(contentPut.sha256, Buffer.from(sha(v1), 'hex').toString('base64'));
  assert.is(contentPut.md5, createHash('md5').update(v1).digest('base64'));
  assert.is(contentPut.storageClass, 'STANDARD_IA');
  assert.ok(puts.filter((p) => p.url.includes('/metadata/hosts/')).every((p) => p.storageClass === undefined));
});

test('fs + S3: content goes to both, log names both, restore falls back to the vault that still has it', () => {
  const bt = new BtHome('bt-s3-pair', S3RVER_CREDENTIALS);
  bt.ok(['config', 'init']);
  bt.ok(s3VaultArgs(server, 'cloud', 'pair'));
  const init = bt.ok(['config', 'vault', 'init']);
  assert.match(init, /vault "local": write, read-back and delete of a probe object: ok/);
  assert.match(init, /vault "cloud": s3:\/\/pair\/: write, read-back and delete of a probe object: ok/);
  const d = join(bt.work, 'pair');
  mkdirSync(d);
  const files = { a: Buffer.from('only in local soon'), b: Buffer.from('only in cloud soon'), c: Buffer.from('lost everywhere') };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(d, name), bytes);
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  const b = bt.json<{ files: number; bytes_sent: number; journal: { vault: string; events: number }[] }>(['backup']);
  assert.is(b.files, 3);
  const total = Object.values(files).reduce((n, f) => n + f.length, 0);
  assert.is(b.bytes_sent, 2 * total);
  assert.equal(b.journal.map((j) => j.vault).sort(), ['cloud', 'local']);
  for (const name of Object.keys(files)) {
    const log = bt.json<LogJson>(['log', name], { cwd: d });
    assert.equal([...log.versions[0]!.vaults].sort(), ['cloud', 'local']);
  }
  assert.match(bt.ok(['log', 'a'], { cwd: d }), /stored in: (cloud, local|local, cloud)/);
  assert.equal(server.listKeys('pair', 'content/'), Object.values(files).map((f) => `content/${sha(f)}`).sort());
  assert.equal(vaultObjects(bt.vault).sort(), Object.values(files).map((f) => sha(f)).sort());

  const localPath = (bytes: Buffer): string => {
    const s = sha(bytes);
    return join(bt.vault, 'content', s.slice(0, 2), s);
  };
  // a: gone from S3 -> served by the local vault.
  rmSync(server.objectFile('pair', `content/${sha(files.a)}`));
  const ra = bt.json<{ vault: string }>(['restore', 'a', '--output', join(bt.home, 'a.out')], { cwd: d });
  assert.is(ra.vault, 'local');
  assert.equal(readFileSync(join(bt.home, 'a.out')), files.a);
  // b: gone from the local vault -> served by S3.
  rmSync(localPath(files.b));
  const rb = bt.json<{ vault: string }>(['restore', 'b', '--output', join(bt.home, 'b.out')], { cwd: d });
  assert.is(rb.vault, 'cloud');
  assert.equal(readFileSync(join(bt.home, 'b.out')), files.b);
  // c: corrupt in S3 and gone locally -> corruption (exit 4) naming both, and no output file.
  writeFileSync(server.objectFile('pair', `content/${sha(files.c)}`), 'tampered');
  rmSync(localPath(files.c));
  const rc = bt.run(['restore', 'c', '--output', join(bt.home, 'c.out')], { cwd: d });
  assert.is(rc.code, 4);
  assert.match(rc.stderr, /could not be read from any vault/);
  assert.match(rc.stderr, /vault "cloud": object content\/[0-9a-f]{64} is corrupt/);
  assert.match(rc.stderr, /vault "local": object content\/[0-9a-f]{64} is missing/);
  assert.not.ok(existsSync(join(bt.home, 'c.out')));
});

test('bt check --read-data finds a corrupt S3 object; --repair replaces it from the filesystem vault', () => {
  const bt = new BtHome('bt-s3-check', S3RVER_CREDENTIALS);
  bt.ok(['config', 'init']);
  bt.ok(s3VaultArgs(server, 'cloud', 'check'));
  bt.ok(['config', 'vault', 'init']);
  const d = join(bt.work, 'c');
  mkdirSync(d);
  const bytes = Buffer.alloc(50_000, 9);
  writeFileSync(join(d, 'f.bin'), bytes);
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  assert.match(bt.ok(['check', '--read-data']), /no problems found/);
  writeFileSync(server.objectFile('check', `content/${sha(bytes)}`), 'rotten');
  const found = bt.run(['check', '--read-data']);
  assert.is(found.code, 4, found.stdout + found.stderr);
  assert.match(found.stdout, new RegExp(`vault "cloud": ${sha(bytes)} corrupt`));
  const repaired = bt.run(['check', '--read-data', '--repair']);
  assert.is(repaired.code, 0, repaired.stdout + repaired.stderr);
  assert.match(repaired.stdout, /REPAIRED from vault "local"/);
  assert.equal(readFileSync(server.objectFile('check', `content/${sha(bytes)}`)), bytes);
  assert.match(bt.ok(['check', '--read-data']), /no problems found/);
});

test.run();
