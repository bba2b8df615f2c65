import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RESTORE_TEMPORARY, restoreTmpPath, sweepRestoreTemporaries } from '../../src/fs/restore-file.js';
import { tempDir } from '../support/tmp.js';

test('the names restoreTmpPath makes are the ones the walk leaves out and the sweeps remove', () => {
  for (let i = 0; i < 40; i++) assert.ok(RESTORE_TEMPORARY.test(restoreTmpPath('/x/y').slice('/x/'.length)));
  for (const name of ['.bt-restore-', '.bt-restore-0123abc', '.bt-restore-0123ABCD1', 'x.bt-restore-0123abcd1', '.bt-restore-0123abcd1.txt']) {
    assert.not.ok(RESTORE_TEMPORARY.test(name), name);
  }
});

test('a sweep removes temporaries unchanged since before its cutoff, files and links, and nothing else', () => {
  const dir = tempDir('bt-restore-tmp');
  writeFileSync(join(dir, '.bt-restore-0123abcd0'), 'partial');
  symlinkSync('/nowhere', join(dir, '.bt-restore-0123abcd1'));
  mkdirSync(join(dir, '.bt-restore-0123abcd2'));
  writeFileSync(join(dir, '.bt-restore-mine'), 'a name like it, not bt\'s');
  writeFileSync(join(dir, 'kept.txt'), 'the user\'s');
  // Just made: a restore may be writing them now.
  sweepRestoreTemporaries(dir);
  assert.is(readdirSync(dir).length, 5);
  sweepRestoreTemporaries(dir, Date.now() + 1000);
  assert.equal(readdirSync(dir).sort(), ['.bt-restore-0123abcd2', '.bt-restore-mine', 'kept.txt']);
  sweepRestoreTemporaries(join(dir, 'nosuch'), Date.now() + 1000);
});

test.run();
