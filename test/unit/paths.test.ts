import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BtError } from '../../src/core/errors.js';
import { nameWithin, safeJoin } from '../../src/fs/paths.js';

test('safeJoin keeps journal names inside the target', () => {
  assert.is(safeJoin('/restore', 'a/b.txt'), '/restore/a/b.txt');
  assert.is(safeJoin('/restore', 'white space/ünïcode ☃'), '/restore/white space/ünïcode ☃');
  assert.is(safeJoin('/restore', '..hidden/..x'), '/restore/..hidden/..x');
});

test('safeJoin refuses names that would climb out or are not relative', () => {
  for (const bad of ['../etc/passwd', 'a/../../x', '/etc/passwd', 'a//b', 'a/./b', '', '.', 'a/', 'nul\u0000byte']) {
    try {
      safeJoin('/restore', bad);
      assert.unreachable(`accepted ${JSON.stringify(bad)}`);
    } catch (err) {
      assert.instance(err, BtError);
      assert.is((err as BtError).kind, 'integrity');
      assert.match((err as Error).message, /refusing to restore/);
    }
  }
});

test('nameWithin gives /-separated names relative to the tracked root', () => {
  assert.is(nameWithin('/home/u/docs', '/home/u/docs/a/b'), 'a/b');
  assert.is(nameWithin('/home/u/docs', '/home/u/docs'), '');
});

test.run();
