// `bt config vault add|remove` through the real binary: what is written, what is refused, and that keys kept
// in bt.toml stay private (file mode 0600, masked by `config list`, never printed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BtHome } from '../support/cli.js';
import { S3RVER_CREDENTIALS, s3VaultArgs, startS3Server } from '../support/s3-server.js';
import { tempDir } from '../support/tmp.js';

const configFile = (bt: BtHome): string => join(bt.home, '.config/bt.toml');

test('vault add writes the S3 entry with the documented defaults; remove takes it out again', () => {
  const bt = new BtHome('bt-s3-cfg').init();
  const out = bt.json<{ vault: Record<string, unknown> }>([
    'config', 'vault', 'add', 'aws', '--type', 's3', '--bucket', 'my-backups', '--prefix', 'laptop', '--region', 'eu-central-1',
    '--storage-class', 'STANDARD_IA', '--profile', 'backup',
  ]);
  assert.equal(out.vault, {
    name: 'aws', type: 's3', content_bucket: 'my-backups', content_bucket_prefix: 'laptop/', metadata_bucket: 'my-backups',
    metadata_bucket_prefix: 'laptop/metadata/', region: 'eu-central-1', storage_class: 'STANDARD_IA', profile: 'backup',
  });
  bt.ok(['config', 'vault', 'add', 'minio', '--type', 's3', '--bucket', 'bt-data', '--endpoint', 'http://127.0.0.1:9000/', '--force-path-style',
    '--metadata-bucket', 'bt-meta', '--metadata-prefix', 'journal/']);
  bt.ok(['config', 'vault', 'add', 'usb', '--type', 'fs', '--path', join(bt.home, 'usb')]);
  const list = bt.json<{ vaults: Record<string, unknown>[] }>(['config', 'list']);
  assert.equal(list.vaults.map((v) => v.name), ['local', 'aws', 'minio', 'usb']);
  assert.equal(list.vaults[2], {
    name: 'minio', type: 's3', content_bucket: 'bt-data', content_bucket_prefix: '', metadata_bucket: 'bt-meta', metadata_bucket_prefix: 'journal/',
    endpoint: 'http://127.0.0.1:9000', force_path_style: true,
  });
  assert.equal(list.vaults[3], { name: 'usb', type: 'fs', path: join(bt.home, 'usb') });
  assert.match(bt.ok(['config', 'list']), /minio: s3 bucket bt-data\/ \(metadata bt-meta\/journal\/\) via http:\/\/127\.0\.0\.1:9000/);
  assert.is(statSync(configFile(bt)).mode & 0o777, 0o600);

  const removed = bt.json<{ removed: { name: string }; vaults: string[] }>(['config', 'vault', 'remove', 'aws']);
  assert.equal([removed.removed.name, removed.vaults], ['aws', ['local', 'minio', 'usb']]);
  assert.equal(bt.json<{ vaults: { name: string }[] }>(['config', 'list']).vaults.map((v) => v.name), ['local', 'minio', 'usb']);
});

test('vault add and remove refuse bad input with one clear line and leave the config as it was', () => {
  const bt = new BtHome('bt-s3-cfg-bad').init();
  const before = readFileSync(configFile(bt), 'utf8');
  const cases: [string[], number, RegExp][] = [
    [['local', '--type', 's3', '--bucket', 'abc'], 1, /a vault named "local" already exists; choose another name, or remove it first/],
    [['x', '--type', 'gcs'], 2, /unknown vault type "gcs"; use --type s3 or --type fs/],
    [['x'], 2, /--type is required/],
    [['x', '--type', 's3'], 2, /--type s3 needs --bucket NAME/],
    [['x', '--type', 's3', '--bucket', 'ab'], 2, /--bucket "ab" is not a valid bucket name/],
    [['x', '--type', 's3', '--bucket', 'abc', '--prefix', '/abs'], 2, /--prefix "\/abs" is not a valid key prefix/],
    [['x', '--type', 's3', '--bucket', 'abc', '--prefix', 'a//b'], 2, /--prefix "a\/\/b" is not a valid key prefix/],
    [['x', '--type', 's3', '--bucket', 'abc', '--endpoint', 'ftp://host'], 2, /--endpoint "ftp:\/\/host" is not a valid http\(s\) URL/],
    [['x', '--type', 's3', '--bucket', 'abc', '--endpoint', 'https://AKIA:secret@host'], 2, /--endpoint must not contain credentials/],
    [['x', '--type', 's3', '--bucket', 'abc', '--metadata-prefix', 'content/'], 2, /overlaps the content/],
    [['x', '--type', 's3', '--bucket', 'abc', '--path', '/tmp/x'], 2, /--path applies to --type fs only/],
    [['x', '--type', 'fs'], 2, /--type fs needs --path DIR/],
    [['x', '--type', 'fs', '--path', 'relative/dir'], 2, /--path must be an absolute path, got "relative\/dir"; e\.g\. --path \//],
    [['x', '--type', 'fs', '--path', '/tmp/v', '--bucket', 'abc'], 2, /--bucket applies to --type s3 only/],
    [['bad name', '--type', 'fs', '--path', '/tmp/v'], 2, /"bad name" is not a valid vault name/],
  ];
  for (const [args, code, message] of cases) {
    const r = bt.run(['config', 'vault', 'add', ...args]);
    assert.is(r.code, code, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
    assert.is(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.not.match(r.stderr, /secret/);
  }
  const unknown = bt.run(['config', 'vault', 'remove', 'nope']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no vault named "nope" \(configured: local\)/);
  const last = bt.run(['config', 'vault', 'remove', 'local']);
  assert.is(last.code, 1);
  assert.match(last.stderr, /"local" is the only vault; bt would have nowhere to store backups; add another one first/);
  assert.is(readFileSync(configFile(bt), 'utf8'), before);
});

test('keys kept in bt.toml work, the file stays 0600, config list masks them and no output ever shows them', async () => {
  const server = await startS3Server();
  const bt = new BtHome('bt-s3-keys').init();
  bt.ok(s3VaultArgs(server, 'cloud', 'keys'));
  // The keys are written by hand into the file (bt never asks for them on a command line).
  writeFileSync(configFile(bt), `${readFileSync(configFile(bt), 'utf8')}access_key_id = "${S3RVER_CREDENTIALS.AWS_ACCESS_KEY_ID}"\nsecret_access_key = "${S3RVER_CREDENTIALS.AWS_SECRET_ACCESS_KEY}"\n`);
  assert.match(bt.ok(['config', 'vault', 'init']), /vault "cloud": s3:\/\/keys\/: write, read-back and delete of a probe object: ok/);
  // Any rewrite keeps the file owner-only.
  bt.ok(['config', 'vault', 'add', 'usb', '--type', 'fs', '--path', join(bt.home, 'usb')]);
  assert.is(statSync(configFile(bt)).mode & 0o777, 0o600);
  assert.match(readFileSync(configFile(bt), 'utf8'), /secret_access_key = "S3RVER"/);
  const text = bt.ok(['config', 'list']);
  const json = bt.ok(['config', 'list', '--json']);
  assert.match(text, /keys in the config: \*{8} \/ \*{8}/);
  const cloud = (JSON.parse(json) as { vaults: Record<string, unknown>[] }).vaults.find((v) => v.name === 'cloud')!;
  assert.equal([cloud.access_key_id, cloud.secret_access_key], ['********', '********']);
  for (const out of [text, json]) assert.not.ok(out.includes('S3RVER'), out);

  // Wrong keys in the file: a plain failure that prints neither key.
  const secret = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
  writeFileSync(configFile(bt), readFileSync(configFile(bt), 'utf8').replace(/access_key_id = "S3RVER"/, 'access_key_id = "AKIAIOSFODNN7EXAMPLE"').replace(/secret_access_key = "S3RVER"/, `secret_access_key = "${secret}"`));
  const r = bt.run(['config', 'vault', 'init', '--json']);
  assert.is(r.code, 1);
  assert.match(r.stdout, /access denied: the server does not know this access key/);
  for (const out of [r.stdout, r.stderr, bt.ok(['config', 'list']), bt.ok(['config', 'list', '--json'])]) {
    assert.not.ok(out.includes('AKIAIOSFODNN7EXAMPLE'), out);
    assert.not.ok(out.includes(secret), out);
  }
  // Only one of the two keys is a configuration error, said plainly.
  writeFileSync(configFile(bt), readFileSync(configFile(bt), 'utf8').replace(/secret_access_key = .*\n/, ''));
  const half = bt.run(['config', 'vault', 'init']);
  assert.match(half.stdout, /vault "cloud": FAILED: bt\.toml has only one of access_key_id and secret_access_key/);
  await server.stop();
});

test('the AWS SDK loads only when an S3 vault is used: never for filesystem vaults', async () => {
  // A preload that counts @aws-sdk modules as Node loads them and reports the count on exit.
  const hook = join(tempDir('bt-sdk-hook'), 'hook.cjs');
  writeFileSync(hook, [
    "const Module = require('node:module'); const load = Module._load; const seen = new Set();",
    "Module._load = function (request, ...rest) { if (String(request).startsWith('@aws-sdk/')) seen.add(String(request)); return load.call(this, request, ...rest); };",
    "process.on('exit', () => process.stderr.write(`aws-sdk modules loaded: ${seen.size}\\n`));",
  ].join('\n'));
  const env = { NODE_OPTIONS: `--require ${hook}` };
  const loaded = (stderr: string): number => Number(/aws-sdk modules loaded: (\d+)/.exec(stderr)?.[1] ?? NaN);
  const server = await startS3Server();
  const bt = new BtHome('bt-sdk-load', S3RVER_CREDENTIALS).init();
  const d = join(bt.work, 'd');
  mkdirSync(d);
  writeFileSync(join(d, 'f'), 'x');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  for (const args of [['config', 'vault', 'init'], ['backup'], ['log', join(d, 'f')], ['config', 'list']]) {
    const r = bt.run(args, { env });
    assert.is(r.code, 0, r.stderr);
    assert.is(loaded(r.stderr), 0, `bt ${args.join(' ')} with a filesystem vault loaded the SDK`);
  }
  bt.ok(s3VaultArgs(server, 'cloud', 'sdkload'));
  const withS3 = bt.run(['config', 'vault', 'init'], { env });
  assert.is(withS3.code, 0, withS3.stdout);
  assert.ok(loaded(withS3.stderr) > 0, 'the hook sees the SDK when it is used');
  assert.is(loaded(bt.run(['config', 'list'], { env }).stderr), 0, 'listing the config opens no vault');
  await server.stop();
});

test.run();
