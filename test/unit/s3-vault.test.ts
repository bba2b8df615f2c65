// What only the S3 vault has: the mapping of SDK errors to plain words, the checksum fallback for servers that
// reject x-amz-checksum-* headers, refusal of a staged copy that changed, and failing fast when unreachable.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { NoSuchBucket, NoSuchKey, S3ServiceException } from '@aws-sdk/client-s3';
import type { S3VaultConfig } from '../../src/config/schema.js';
import { BtError, exitCodeFor } from '../../src/core/errors.js';
import { type S3Where, isNotFound, isUnsupportedChecksumHeader, s3Failure, scrub } from '../../src/vaults/s3-errors.js';
import { S3Vault } from '../../src/vaults/s3-vault.js';
import { startS3Server } from '../support/s3-server.js';
import { tempDir } from '../support/tmp.js';

const where: S3Where = { vault: 'cloud', endpoint: 'https://s3.example.com', bucket: 'bkt', key: 'p/content/abc', region: 'eu-west-1', secrets: ['AKIAIOSFODNN7EXAMPLE', 'wJalrXUtnFEMI/K7MDENG'] };
const sdkError = (name: string, status: number, message = name): S3ServiceException =>
  new S3ServiceException({ name, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, attempts: status >= 500 ? 5 : 1 }, message });
const netError = (code: string): Error => Object.assign(new Error(`connect ${code} 10.0.0.1:443`), { code, $metadata: { attempts: 5 } });
const describe = (err: unknown): string => {
  const e = s3Failure(err, where);
  return e.hint ? `${e.message}; ${e.hint}` : e.message;
};

test('SDK and network errors become one plain line with a hint, never a stack or a secret', () => {
  const cases: [unknown, RegExp][] = [
    [sdkError('AccessDenied', 403, 'Access Denied'), /^vault "cloud": access denied to s3:\/\/bkt\/p\/content\/abc \(AccessDenied\); check the credentials and that their policy allows/],
    [sdkError('Forbidden', 403, 'UnknownError'), /access denied to s3:\/\/bkt\/p\/content\/abc \(Forbidden\)/],
    [sdkError('Unknown', 403), /access denied to s3:\/\/bkt\/p\/content\/abc \(HTTP 403\)/],
    [sdkError('InvalidAccessKeyId', 403, 'The AWS Access Key Id AKIAIOSFODNN7EXAMPLE you provided does not exist'), /access denied: the server does not know this access key \(InvalidAccessKeyId\); check AWS_ACCESS_KEY_ID/],
    [sdkError('SignatureDoesNotMatch', 403), /access denied: the secret key does not match the access key/],
    [sdkError('ExpiredToken', 400), /access denied: the session token has expired or is invalid \(ExpiredToken\)/],
    [new NoSuchBucket({ $metadata: { httpStatusCode: 404 }, message: 'The specified bucket does not exist' }), /no such bucket "bkt" at https:\/\/s3\.example\.com; run `bt config vault init` to create it/],
    [sdkError('PermanentRedirect', 301), /bucket "bkt" is in another region than eu-west-1 \(PermanentRedirect\); set the bucket's region/],
    [sdkError('SlowDown', 503), /the server asked bt to slow down and kept refusing after retries \(SlowDown\)/],
    [sdkError('InternalError', 500), /the S3 server failed \(HTTP 500 InternalError\) after 5 attempts; try again later/],
    [sdkError('InvalidObjectState', 403), /is archived and cannot be read directly/],
    [Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }), /^vault "cloud": no credentials: none found in the environment/],
    [new Error('Region is missing'), /no region is configured for S3/],
    [netError('ECONNREFUSED'), /^vault "cloud": endpoint unreachable: cannot reach https:\/\/s3\.example\.com \(connection refused\); check the endpoint URL/],
    [netError('ENOTFOUND'), /endpoint unreachable: .* \(host name not found\)/],
    [netError('EHOSTUNREACH'), /endpoint unreachable: .* \(host unreachable\)/],
    [Object.assign(new Error('socket did not establish a connection'), { name: 'TimeoutError' }), /endpoint unreachable: .* \(no answer in time\)/],
    [Object.assign(new AggregateError([netError('ECONNREFUSED'), netError('ECONNREFUSED')]), { code: undefined }), /endpoint unreachable: .* \(connection refused\)/],
    [Object.assign(new Error('fetch failed'), { cause: netError('ECONNRESET') }), /endpoint unreachable: .* \(connection reset\)/],
    [sdkError('WeirdThing', 400, 'Something odd with Credential=AKIAIOSFODNN7EXAMPLE/2026 and wJalrXUtnFEMI/K7MDENG\nsecond line'), /^vault "cloud": S3 WeirdThing \(HTTP 400\) at s3:\/\/bkt\/p\/content\/abc: Something odd with Credential=\*{8} and \*{8}$/],
  ];
  for (const [err, expected] of cases) {
    const line = describe(err);
    assert.match(line, expected, line);
    assert.not.match(line, /\n|AKIAIOSFODNN7EXAMPLE|wJalrXUtnFEMI|\bat \//, line);
    assert.instance(s3Failure(err, where), BtError);
    assert.is(exitCodeFor(s3Failure(err, where)), 1);
  }
  // A BtError passes through untouched.
  const own = new BtError('vault', 'already plain');
  assert.is(s3Failure(own, where), own);
});

test('not-found and unsupported-checksum-header classifications', () => {
  assert.ok(isNotFound(new NoSuchKey({ $metadata: { httpStatusCode: 404 }, message: 'no' })));
  assert.ok(isNotFound(sdkError('NotFound', 404)));
  assert.not.ok(isNotFound(new NoSuchBucket({ $metadata: { httpStatusCode: 404 }, message: 'no' })), 'a missing bucket is not a missing object');
  assert.not.ok(isNotFound(sdkError('AccessDenied', 403)));
  assert.ok(isUnsupportedChecksumHeader(sdkError('InvalidArgument', 400, "Unsupported header 'x-amz-checksum-sha256' received for this API call.")));
  assert.ok(isUnsupportedChecksumHeader(sdkError('NotImplemented', 501, "Header 'x-amz-checksum-sha256' with value 'abc=' not implemented")));
  assert.not.ok(isUnsupportedChecksumHeader(sdkError('InvalidArgument', 400, 'Invalid storage class')));
  assert.not.ok(isUnsupportedChecksumHeader(sdkError('BadDigest', 400, 'checksum mismatch')));
  assert.is(scrub('a AKIAIOSFODNN7EXAMPLE b', where.secrets), 'a ******** b');
  assert.is(scrub('X-Amz-Signature=abcdef&x=1', []), 'X-Amz-Signature=********&x=1');
});

const vaultConfig = (endpoint: string, bucket: string): S3VaultConfig => ({
  name: 'cloud', type: 's3', content_bucket: bucket, content_bucket_prefix: '', metadata_bucket: bucket, metadata_bucket_prefix: 'metadata/',
  endpoint, region: 'us-east-1', force_path_style: true, access_key_id: 'S3RVER', secret_access_key: 'S3RVER',
});
const vaultOn = (endpoint: string, bucket: string): S3Vault => new S3Vault(vaultConfig(endpoint, bucket));
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

test('a server that rejects x-amz-checksum-* (like B2): bt falls back to Content-MD5 alone and stores intact bytes', async () => {
  const server = await startS3Server({ logRequests: true, rejectChecksumHeaders: true });
  const v = vaultOn(server.endpoint, 'b2like');
  try {
    await v.validateSetup();
    const dir = tempDir('bt-s3-b2');
    for (const [name, bytes] of [['a', Buffer.from('first')], ['b', Buffer.alloc(9 * 1024 * 1024, 5)]] as const) {
      writeFileSync(join(dir, name), bytes);
      assert.equal(await v.putContent(sha(bytes), join(dir, name), bytes.length), { sent: bytes.length });
      await v.getContent(sha(bytes), join(dir, `${name}.out`));
    }
    await v.putMetadata('hosts/h/journal/1-1.ndjson.gz', Buffer.from('segment'));
    const puts = server.requests().filter((r) => r.method === 'PUT' && r.url.startsWith('/b2like/') && r.length > 0);
    // Exactly one request carried the header (and was refused); every later one went without it, with MD5.
    assert.is(puts.filter((p) => p.sha256).length, 1);
    assert.ok(puts.every((p) => p.md5), JSON.stringify(puts));
    assert.ok(puts.every((p) => p.checksumAlgorithm === undefined));
  } finally {
    v.close();
    await server.stop();
  }
});

test('a staged copy whose bytes are not its checksum is refused, single PUT or multipart, and nothing is stored', async () => {
  const server = await startS3Server({ logRequests: true });
  const v = vaultOn(server.endpoint, 'changed');
  try {
    await v.validateSetup();
    const dir = tempDir('bt-s3-changed');
    for (const size of [1000, 20 * 1024 * 1024]) {
      const claimed = sha(Buffer.alloc(size, 1));
      const path = join(dir, `staged-${size}`);
      const actual = Buffer.alloc(size, 1);
      actual[size - 1] = 2; // the last byte: a multipart upload must abort before its last part completes it
      writeFileSync(path, actual);
      const err = await v.putContent(claimed, path, size).then(() => undefined, (e: unknown) => e);
      assert.instance(err, BtError);
      assert.match((err as Error).message, new RegExp(`the staged copy ${path} no longer has checksum ${claimed.slice(0, 12)}`));
      assert.is(await v.hasContent(claimed), false);
    }
    assert.equal(server.listKeys('changed', 'content/'), []);
    const uploads = join(server.directory, 'changed', '._S3rver_uploads');
    assert.ok(server.requests().some((r) => r.method === 'DELETE' && /[?&]uploadId=/.test(r.url)), 'AbortMultipartUpload was sent');
    assert.equal(existsSync(uploads) ? readdirSync(uploads) : [], [], 'the multipart upload was aborted');
  } finally {
    v.close();
    await server.stop();
  }
});

test('local file problems surface as themselves (ENOENT), not as S3 errors: a vanished staged copy, a missing output dir', async () => {
  const server = await startS3Server();
  const v = vaultOn(server.endpoint, 'local-errors');
  try {
    await v.validateSetup();
    const dir = tempDir('bt-s3-local');
    for (const size of [10, 20 * 1024 * 1024]) {
      const err = await v.putContent(sha(Buffer.alloc(size)), join(dir, `gone-${size}`), size).then(() => undefined, (e: unknown) => e);
      assert.is((err as NodeJS.ErrnoException | undefined)?.code, 'ENOENT', String(err));
    }
    const bytes = Buffer.from('restore me');
    writeFileSync(join(dir, 'src'), bytes);
    await v.putContent(sha(bytes), join(dir, 'src'), bytes.length);
    const err = await v.getContent(sha(bytes), join(dir, 'no-such-dir', 'out')).then(() => undefined, (e: unknown) => e);
    assert.is((err as NodeJS.ErrnoException | undefined)?.code, 'ENOENT', String(err));
  } finally {
    v.close();
    await server.stop();
  }
});

test('removeContent deletes a content object so a corrupt one can be replaced; putContent trusts the file, not the declared size', async () => {
  const server = await startS3Server();
  const v = vaultOn(server.endpoint, 'repair');
  try {
    await v.validateSetup();
    const dir = tempDir('bt-s3-repair');
    const bytes = Buffer.from('the real bytes');
    writeFileSync(join(dir, 'src'), bytes);
    await v.putContent(sha(bytes), join(dir, 'src'), bytes.length);
    // Rotten with the same length: a put does not read what is there (one of another length is replaced:
    // the vault contract tests).
    writeFileSync(server.objectFile('repair', `content/${sha(bytes)}`), 'rotten, length');
    assert.equal(await v.putContent(sha(bytes), join(dir, 'src'), bytes.length), { sent: 0 }, 'present, so not sent again');
    await v.removeContent(sha(bytes));
    assert.is(await v.hasContent(sha(bytes)), false);
    assert.equal(await v.putContent(sha(bytes), join(dir, 'src'), 0), { sent: bytes.length });
    await v.getContent(sha(bytes), join(dir, 'out'));
    assert.equal(readFileSync(join(dir, 'out')), bytes);
  } finally {
    v.close();
    await server.stop();
  }
});

test('an endpoint nobody listens on fails within seconds as "endpoint unreachable"', async () => {
  const server = await startS3Server();
  await server.stop();
  const v = vaultOn(server.endpoint, 'gone');
  const started = Date.now();
  const err = await v.hasContent(sha(Buffer.from('x'))).then(() => undefined, (e: unknown) => e);
  const seconds = (Date.now() - started) / 1000;
  v.close();
  assert.instance(err, BtError);
  assert.match((err as Error).message, /endpoint unreachable: cannot reach http:\/\/127\.0\.0\.1:\d+ \(connection refused\)/);
  assert.ok(seconds < 10, `${seconds} s`);
});

test('a directory bucket (S3 Express): the session request the SDK sends first does not wait on the first-contact probe it is part of', async () => {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    res.statusCode = 404;
    res.setHeader('content-type', 'application/xml');
    res.end('<Error><Code>NoSuchKey</Code></Error>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const v = new S3Vault({ ...vaultConfig(endpoint, 'mybucket--use1-az4--x-s3'), force_path_style: false });
  const started = Date.now();
  // Before the fix it never settled: the probe's CreateSession waited on the gate the probe was to open.
  const outcome = await Promise.race([
    v.hasContent(sha(Buffer.from('x'))).then(() => 'settled', () => 'settled'),
    new Promise((resolve) => setTimeout(() => resolve('hung'), 10_000)),
  ]);
  v.close();
  server.close();
  assert.is(outcome, 'settled', `requests seen: ${seen.join(', ')}`);
  assert.ok(seen.some((r) => r.includes('session')), seen.join(', '));
  assert.ok(Date.now() - started < 10_000);
});

test.run();
