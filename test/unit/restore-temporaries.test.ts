import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { basename } from 'node:path';
import { isRestoreTemporary, restoreTmpPath, sweepRestoreTemporaries } from '../../src/fs/restore-file.js';
import { tempDir } from '../support/tmp.js';

/** A name bt makes, as a killed restore leaves it. */
const temporary = (): string => basename(restoreTmpPath('/x/y'));

test('the names restoreTmpPath makes are the ones the walk leaves out and the sweeps remove; a user file named alike is not', () => {
  for (let i = 0; i < 40; i++) assert.ok(isRestoreTemporary(temporary()));
  const made = temporary();
  // The random part and its tag: one digit changed anywhere in them, and the name is not bt's.
  for (let i = '.bt-restore-'.length; i < '.bt-restore-'.length + 16; i++) {
    const other = made.slice(0, i) + (made[i] === '0' ? '1' : '0') + made.slice(i + 1);
    assert.not.ok(isRestoreTemporary(other), other);
  }
  for (const name of ['.bt-restore-', '.bt-restore-0123abc', '.bt-restore-0123abcd1', '.bt-restore-abcdef0123', 'x' + made, made + '.txt']) {
    assert.not.ok(isRestoreTemporary(name), name);
  }
});

test('a sweep removes temporaries unchanged since before its cutoff, files and links, and nothing else', () => {
  const dir = tempDir('bt-restore-tmp');
  const [partial, link, directory] = [temporary(), temporary(), temporary()];
  writeFileSync(join(dir, partial), 'partial');
  symlinkSync('/nowhere', join(dir, link));
  mkdirSync(join(dir, directory));
  writeFileSync(join(dir, '.bt-restore-mine'), 'a name like it, not bt\'s');
  writeFileSync(join(dir, '.bt-restore-abcdef0123'), 'named like the old temporaries, the user\'s');
  writeFileSync(join(dir, 'kept.txt'), 'the user\'s');
  // Just made: a restore may be writing them now.
  sweepRestoreTemporaries(dir);
  assert.is(readdirSync(dir).length, 6);
  sweepRestoreTemporaries(dir, Date.now() + 1000);
  assert.equal(readdirSync(dir).sort(), [directory, '.bt-restore-abcdef0123', '.bt-restore-mine', 'kept.txt'].sort());
  sweepRestoreTemporaries(join(dir, 'nosuch'), Date.now() + 1000);
});

test.run();
