// A restore worker reads a small object with one read of size + 1 bytes: only an object of exactly the
// content's size and hash restores; anything else sends the file to the general path (other vaults).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type SmallRestoreJob, restoreSmallObject } from '../../src/fs/restore-file.js';
import { tempDir } from '../support/tmp.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function job(dir: string, object: Buffer | null, content: Buffer, target: string): SmallRestoreJob {
  const path = join(dir, `object-${Math.random().toString(36).slice(2)}`);
  if (object) writeFileSync(path, object);
  return { object: path, checksum: sha(content), size: content.length, target: join(dir, target), owned: true, meta: null, plainMode: 0o640 };
}

test('exactly the content restores; a longer, shorter or missing object does not, whatever its first bytes', () => {
  const d = tempDir('bt-restore-object');
  const content = Buffer.from('the bytes of a small file\n');
  const empty = Buffer.alloc(0);

  assert.equal(restoreSmallObject(job(d, content, content, 'ok')), { kind: 'done', warnings: [] });
  assert.ok(readFileSync(join(d, 'ok')).equals(content));
  assert.is(statSync(join(d, 'ok')).mode & 0o777, 0o640);
  // A second file on the same thread reuses the read buffer: the first file's bytes are not in it.
  const other = Buffer.from('x');
  assert.equal(restoreSmallObject(job(d, other, other, 'ok2')).kind, 'done');
  assert.ok(readFileSync(join(d, 'ok2')).equals(other));

  assert.equal(restoreSmallObject(job(d, Buffer.concat([content, Buffer.from('!')]), content, 'longer')), { kind: 'corrupt' });
  assert.equal(restoreSmallObject(job(d, content.subarray(0, content.length - 1), content, 'shorter')), { kind: 'corrupt' });
  assert.equal(restoreSmallObject(job(d, null, content, 'missing')), { kind: 'missing' });
  assert.equal(restoreSmallObject(job(d, Buffer.from('?'), empty, 'empty-longer')), { kind: 'corrupt' });
  assert.equal(restoreSmallObject(job(d, empty, empty, 'empty')).kind, 'done');
  assert.is(statSync(join(d, 'empty')).size, 0);
  for (const name of ['longer', 'shorter', 'missing', 'empty-longer']) {
    assert.throws(() => statSync(join(d, name)), /ENOENT/, `${name}: nothing written`);
  }
});

test.run();
