// Ignore rules across levels (bt.toml's list, then each .btignore down the tree) as git combines them.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreRules } from '../../src/fs/ignore-rules.js';
import { tempDir } from '../support/tmp.js';

test('a directory ignored in one .btignore (or bt.toml) and re-included deeper: the files in it are not ignored', () => {
  const root = tempDir('bt-ignore-levels');
  mkdirSync(join(root, 'deep/x'), { recursive: true });
  writeFileSync(join(root, '.btignore'), 'x/\n*.log\n!node_modules/\n');
  writeFileSync(join(root, 'deep/.btignore'), '!x/\n!y.log\n');
  const top = IgnoreRules.global(['node_modules/']).enter('', root);
  const deep = top.enter('deep', join(root, 'deep'));
  assert.is(top.ignores('x', true), true, 'x/ at the top');
  assert.is(deep.ignores('deep/x', true), false, 're-included deeper');
  const inX = deep.enter('deep/x', join(root, 'deep/x'));
  assert.is(inX.ignores('deep/x/f', false), false, 'a file in the re-included directory');
  assert.is(inX.ignores('deep/x/f.log', false), true, 'still a *.log');
  assert.is(deep.ignores('deep/y.log', false), false);
  // bt.toml's node_modules/, re-included by the root's .btignore: its files and its subdirectories' files.
  assert.is(top.ignores('node_modules', true), false);
  assert.is(top.ignores('node_modules/p', true), false);
  assert.is(top.ignores('node_modules/p/i.js', false), false);
  // Within one file git cannot re-include a file whose directory it excludes; a walk never enters it.
  mkdirSync(join(root, 'one'));
  writeFileSync(join(root, 'one', '.btignore'), 'build/\n!build/keep\n');
  const one = IgnoreRules.global([]).enter('', join(root, 'one'));
  assert.is(one.ignores('build', true), true);
});

test.run();
