// Recovery and crash safety against a real S3-compatible server: lose everything and recover from S3;
// SIGKILL bt in the middle of a multipart upload and run it again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BtHome } from '../support/cli.js';
import { runInterrupted } from '../support/crash.js';
import { S3RVER_CREDENTIALS, s3VaultArgs, startS3Server } from '../support/s3-server.js';
import { loseEverythingAndRecover } from '../support/scenarios.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const server = await startS3Server();
let bucket = 0;

function useS3Only(bt: BtHome, name = `lost${++bucket}`): void {
  bt.ok(s3VaultArgs(server, 'cloud', name));
  bt.ok(['config', 'vault', 'remove', 'local']);
  bt.ok(['config', 'vault', 'init']);
}

test('lose everything, recover from the S3 vault: logs, versions and trees come back', () => {
  loseEverythingAndRecover((bt) => useS3Only(bt), S3RVER_CREDENTIALS);
});

test('SIGKILL during the upload of a large (chunked) file, then backup again: it is stored whole and restores identical', () => {
  const bt = new BtHome('bt-s3-kill', S3RVER_CREDENTIALS).init();
  useS3Only(bt, 'killed');
  const d = join(bt.work, 'docs');
  mkdirSync(d);
  // 40 MiB: several 8 MiB parts.
  const big = Buffer.alloc(40 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(join(d, 'big.bin'), big);
  writeFileSync(join(d, 'small.txt'), 'small');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  let killed = 0;
  for (const afterMs of [400, 900]) {
    const r = runInterrupted(bt, ['backup'], d, { afterMs });
    if (r.signal === 'SIGKILL') killed++;
  }
  assert.ok(killed >= 1, 'at least one backup was killed mid-upload');
  const done = bt.json<{ files: number }>(['backup']);
  assert.ok(done.files <= 2);
  const status = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: d });
  assert.equal(status.files.map((f) => [f.path, f.state]), [['big.bin', 'backed-up'], ['small.txt', 'backed-up']]);
  const out = join(bt.home, 'big.out');
  bt.ok(['restore', 'big.bin', '--output', out], { cwd: d });
  assert.is(sha(readFileSync(out)), sha(big));
  assert.is(bt.run(['check', '--read-data']).code, 0);
});

test.after(() => server.stop());
test.run();
