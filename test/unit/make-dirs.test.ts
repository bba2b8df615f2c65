// makeDirs: mkdir -p that ends where Node's recursive mkdirSync loops forever (a parent that exists but
// refuses the child, as /proc does), and otherwise behaves as that mkdirSync does.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BtError } from '../../src/core/errors.js';
import { makeDirs } from '../../src/fs/make-dirs.js';
import { tempDir } from '../support/tmp.js';

test('creates the missing chain and returns the first directory it made', () => {
  const root = tempDir('bt-mkdirs');
  assert.is(makeDirs(join(root, 'a/b/c'), 0o750), join(root, 'a'));
  assert.ok(statSync(join(root, 'a/b/c')).isDirectory());
  assert.is(statSync(join(root, 'a/b')).mode & 0o777, 0o750 & ~process.umask());
  assert.is(makeDirs(join(root, 'a/b/c')), undefined, 'an existing directory');
  assert.is(makeDirs(join(root, 'a/b/d')), join(root, 'a/b/d'), 'only the last one missing');
});

test('a file or a dangling link in the way is a user error that says so', () => {
  const root = tempDir('bt-mkdirs');
  writeFileSync(join(root, 'f'), 'x');
  symlinkSync(join(root, 'nowhere'), join(root, 'dangling'));
  const says = (text: string) => (e: unknown) => e instanceof BtError && e.message === text;
  assert.throws(() => makeDirs(join(root, 'f')), says(`cannot create directory ${join(root, 'f')}: a file is in the way`));
  assert.throws(() => makeDirs(join(root, 'f/sub/x')), says(`cannot create directory ${join(root, 'f/sub/x')}: a file is in the way above it`));
  assert.throws(() => makeDirs(join(root, 'dangling')), says(`cannot create directory ${join(root, 'dangling')}: it is a link to something that does not exist`));
  assert.not.ok(existsSync(join(root, 'nowhere')));
});

test('a parent that refuses the child is a one-line user error, not an endless loop', () => {
  if (!existsSync('/proc/self')) return; // Linux only
  const started = Date.now();
  assert.throws(
    () => makeDirs('/proc/bt-make-dirs-test/sub'),
    (e: unknown) => e instanceof BtError && e.message === 'cannot create directory /proc/bt-make-dirs-test: its filesystem does not allow it',
  );
  assert.ok(Date.now() - started < 5000);
});

test.run();
