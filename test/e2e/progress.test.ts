// Progress goes to stderr only when it is a terminal: shown under a pseudo-terminal, absent in pipes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BT_BIN, BtHome } from '../support/cli.js';

test('add, backup and a directory restore show files, bytes and rate on a terminal, nothing in a pipe', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'docs');
  mkdirSync(d);
  for (let i = 0; i < 400; i++) writeFileSync(join(d, `f${i}.txt`), `file ${i}\n`.repeat(200));
  bt.ok(['dir', 'init'], { cwd: d });
  const env = { ...bt.env, BT_NO_PROGRESS: '' };
  const onTty = (args: string): string =>
    spawnSync('script', ['-qec', `${process.execPath} ${BT_BIN} ${args}`, '/dev/null'], { cwd: d, env, encoding: 'utf8' }).stdout;
  assert.match(onTty('add'), /staging: \d+ files \| [\d.]+ MB \| [\d.]+ MB\/s/);
  assert.match(onTty('backup'), /backup .* \d+% \| \d+\/400 files \| [\d.]+ MB \| [\d.]+ MB\/s \| ETA/);
  assert.match(onTty(`restore ${d} --output ${join(bt.home, 'out')}`), /restore .* \d+\/400 files/);
  // Not a terminal: no progress at all, even with progress allowed.
  writeFileSync(join(d, 'more.txt'), 'more');
  const piped = spawnSync(process.execPath, [BT_BIN, 'add'], { cwd: d, env, encoding: 'utf8' });
  assert.is(piped.status, 0);
  assert.is(piped.stderr, '');
});

test.run();
