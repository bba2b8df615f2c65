// Failures of an S3 vault in plain words: server stopped mid-backup (nothing lost, the next backup finishes),
// endpoint unreachable, no credentials, an access key the server does not know.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { join } from 'node:path';
import { BtHome } from '../support/cli.js';
import { listFiles } from '../support/files.js';
import { Random } from '../support/random.js';
import { S3RVER_CREDENTIALS, type S3Server, s3VaultArgs, startS3Server } from '../support/s3-server.js';

const server = await startS3Server();

/** A home whose only vault is an S3 bucket on the test server, set up. */
function s3Only(label: string, bucket: string): BtHome {
  const bt = new BtHome(label, S3RVER_CREDENTIALS);
  bt.ok(['config', 'init']);
  bt.ok(s3VaultArgs(server, 'cloud', bucket));
  bt.ok(['config', 'vault', 'remove', 'local']);
  bt.ok(['config', 'vault', 'init']);
  return bt;
}

const noStack = (text: string): void => {
  assert.not.match(text, /\n\s+at /, 'no stack trace');
  assert.not.match(text, /internal error/);
};

async function waitFor(what: string, cond: () => boolean, timeoutMs = 60_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

test('server stopped mid-backup: exit 1 in plain words, everything unstored stays staged; after a restart the next backup finishes and every file restores', async () => {
  const bt = s3Only('bt-s3-stop', 'stop');
  const d = join(bt.work, 'many');
  mkdirSync(d);
  const rnd = new Random(42);
  const expected = new Map<string, Buffer>();
  for (let i = 0; i < 400; i++) expected.set(`f${String(i).padStart(3, '0')}.bin`, rnd.bytes(16 * 1024 + i));
  for (let i = 0; i < 3; i++) expected.set(`large${i}.bin`, Buffer.alloc(12 * 1024 * 1024 + i, i + 1));
  for (const [name, bytes] of expected) writeFileSync(join(d, name), bytes);
  bt.ok(['dir', 'init'], { cwd: d });
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, expected.size);

  const child = bt.spawn(['backup', '--json']);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number>((r) => child.on('close', (code) => r(code ?? -1)));
  await waitFor('the first uploads', () => server.listKeys('stop', 'content/').length >= 40);
  await server.stop();
  const stoppedAt = Date.now();
  const code = await exited;
  const afterStop = (Date.now() - stoppedAt) / 1000;

  assert.is(code, 1, stderr);
  const r1 = JSON.parse(stdout) as { files: number; failed: { path: string; reason: string }[]; journal: { vault: string; error?: string }[] };
  assert.ok(r1.failed.length > 0, 'some files were not stored');
  assert.is(r1.files + r1.failed.length, expected.size);
  assert.match(r1.failed[0]!.reason, /vault "cloud": endpoint unreachable: cannot reach http:\/\/127\.0\.0\.1:\d+ \(connection (refused|reset|closed)\)/);
  assert.match(r1.journal[0]!.error ?? '', /endpoint unreachable/);
  assert.match(stderr, /kept staged: .*endpoint unreachable/);
  // Once the endpoint is found unreachable, the other files do not each wait for it: a few lines, then a count.
  assert.ok(stderr.split('\n').filter((l) => l.includes(': kept staged: ')).length <= 12, stderr);
  assert.match(stderr, /\.\.\. and \d+ more file\(s\) kept staged: vault "cloud": endpoint unreachable/);
  assert.is(stderr.split('\n').filter((l) => l === 'bt: vault "cloud" is unavailable: the next files skip it (one tries it again every 60 s)').length, 1, stderr);
  noStack(stderr);
  assert.ok(afterStop < 30, `backup gave up ${afterStop.toFixed(1)} s after the server stopped`);

  const staged = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: d }).files.filter((f) => f.state === 'staged');
  assert.is(staged.length, r1.failed.length);

  await server.restart();
  const r2 = bt.json<{ files: number; failed: unknown[]; journal: { vault: string; error?: string }[] }>(['backup']);
  assert.is(r2.files, r1.failed.length);
  assert.equal(r2.failed, []);
  assert.is(r2.journal[0]!.error, undefined);
  const status = bt.json<{ files: { state: string }[] }>(['dir', 'status'], { cwd: d }).files;
  assert.ok(status.every((f) => f.state === 'backed-up'), JSON.stringify(status.filter((f) => f.state !== 'backed-up')));
  // Small files are whole objects; the three large ones are chunked (a manifest each, ADR 0012).
  assert.is(server.listKeys('stop', 'content/').length + server.listKeys('stop', 'manifests/').length, expected.size);

  const out = join(bt.home, 'restored');
  mkdirSync(out);
  const tree = bt.json<{ files: number; failed: unknown[] }>(['restore', d, '--output', out]);
  assert.equal([tree.files, tree.failed], [expected.size, []]);
  assert.equal(listFiles(out), [...expected.keys()].sort());
  for (const [name, bytes] of expected) assert.ok(readFileSync(join(out, name)).equals(bytes), name);
});

async function withStoppedServer<T>(fn: (s: S3Server) => T): Promise<T> {
  const s = await startS3Server();
  await s.stop();
  return fn(s);
}

test('vault init against a stopped endpoint says "endpoint unreachable", fast', async () => {
  await withStoppedServer((stopped) => {
    const bt = new BtHome('bt-s3-down', S3RVER_CREDENTIALS);
    bt.ok(['config', 'init']);
    bt.ok(s3VaultArgs(stopped, 'cloud', 'down'));
    const started = Date.now();
    const r = bt.run(['config', 'vault', 'init']);
    const seconds = (Date.now() - started) / 1000;
    assert.is(r.code, 1);
    assert.match(r.stdout, /vault "local": write, read-back and delete of a probe object: ok/);
    assert.match(r.stdout, new RegExp(`vault "cloud": FAILED: .*endpoint unreachable: cannot reach ${stopped.endpoint.replace(/\./g, '\\.')} \\(connection refused\\); check the endpoint URL`));
    noStack(r.stdout + r.stderr);
    assert.ok(seconds < 15, `took ${seconds} s`);
  });
});

test('an endpoint that takes connections and never answers: the backup finds it unavailable in seconds, not minutes', async () => {
  const held: Socket[] = [];
  const silent = createServer((socket) => held.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const bt = new BtHome('bt-s3-silent', S3RVER_CREDENTIALS).init();
    const d = join(bt.work, 'docs');
    mkdirSync(d);
    writeFileSync(join(d, 'a.txt'), 'alpha');
    bt.ok(['dir', 'init'], { cwd: d });
    bt.ok(['add'], { cwd: d });
    bt.ok(['config', 'vault', 'add', 'cloud', '--type', 's3', '--bucket', 'silent', '--endpoint', endpoint, '--force-path-style', '--region', 'us-east-1']);
    const started = Date.now();
    const r = bt.run(['backup', '--json']);
    const seconds = (Date.now() - started) / 1000;
    assert.is(r.code, 1, r.stderr);
    const out = JSON.parse(r.stdout) as { files: number; skipped_vaults: { vault: string; versions: number }[] };
    assert.is(out.files, 1);
    assert.equal(out.skipped_vaults.map((s) => [s.vault, s.versions]), [['cloud', 1]]);
    assert.match(r.stderr, new RegExp(`vault "cloud" is unavailable \\(${endpoint.replace(/\./g, '\\.')} does not answer \\(no answer within 15 s\\); check that the server is running`));
    noStack(r.stderr);
    // One probe of 15 s for the whole run (puts, the lookup after them, the journal), not minutes per request.
    assert.ok(seconds < 40, `took ${seconds} s`);
    assert.is(bt.json<{ versions: unknown[] }>(['log', join(d, 'a.txt')]).versions.length, 1);
  } finally {
    for (const socket of held) socket.destroy();
    silent.close();
  }
});

test('no credentials anywhere: a plain "no credentials" message', () => {
  const bt = new BtHome('bt-s3-nocreds', {
    AWS_ACCESS_KEY_ID: '',
    AWS_SECRET_ACCESS_KEY: '',
    AWS_CONFIG_FILE: '/nonexistent/bt-test/config',
    AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/bt-test/credentials',
    AWS_EC2_METADATA_DISABLED: 'true',
  });
  bt.ok(['config', 'init']);
  bt.ok(s3VaultArgs(server, 'cloud', 'nocreds'));
  const r = bt.run(['config', 'vault', 'init']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /vault "cloud": FAILED: .*no credentials: none found in the environment \(AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY\)/);
  assert.match(r.stdout, /set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile/);
  noStack(r.stdout + r.stderr);

  // A named profile that does not exist, with keys in the environment too: the profile is named, the keys
  // are said not to be used, and the SDK's own console warning about the two does not appear.
  bt.ok(s3VaultArgs(server, 'viaprofile', 'nocreds', ['--profile', 'nosuchprofile']));
  const p = bt.run(['config', 'vault', 'init'], { env: { AWS_ACCESS_KEY_ID: 'AKIABTTESTENV0001', AWS_SECRET_ACCESS_KEY: 'env-secret' } });
  assert.match(p.stdout, /vault "viaprofile": FAILED: no credentials for profile "nosuchprofile": it is not in the shared AWS config or credentials files .*; with a profile named, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not used/);
  assert.not.match(p.stdout + p.stderr, /Multiple credential sources|AKIABTTESTENV0001|env-secret/);
  noStack(p.stdout + p.stderr);
});

test('an access key the server does not know: "access denied", and the key is never printed', () => {
  const key = 'AKIABTTESTUNKNOWN01';
  const secret = 'bt-test-secret/value+0123456789';
  const bt = new BtHome('bt-s3-denied', { AWS_ACCESS_KEY_ID: key, AWS_SECRET_ACCESS_KEY: secret });
  bt.ok(['config', 'init']);
  bt.ok(s3VaultArgs(server, 'cloud', 'denied'));
  const r = bt.run(['config', 'vault', 'init']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /vault "cloud": FAILED: .*access denied: the server does not know this access key \(InvalidAccessKeyId\)/);
  const d = join(bt.work, 'x');
  mkdirSync(d);
  writeFileSync(join(d, 'f'), createHash('sha256').update('x').digest());
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  const b = bt.run(['backup']);
  assert.is(b.code, 1);
  // The bucket cannot answer at all: the local vault's copy is committed, and the run says what the bucket missed (ADR 0016).
  assert.match(b.stderr, /vault "cloud" is unavailable \(access denied to s3:\/\/denied\/content\/[0-9a-f]{64} \(HTTP 403\); check the credentials.*\): 1 version\(s\) committed without it/);
  // Found unavailable by the puts, the bucket is not asked again for the journal in this run.
  assert.match(b.stdout, /journal -> vault "cloud": FAILED: unavailable in this run \(access denied to s3:\/\/denied\/content\/[0-9a-f]{64} \(HTTP 403\).*\); the next sync sends it/);
  for (const text of [r.stdout, r.stderr, b.stdout, b.stderr]) {
    assert.not.ok(text.includes(key), 'access key printed');
    assert.not.ok(text.includes(secret), 'secret printed');
    noStack(text);
  }
});

test.run();
