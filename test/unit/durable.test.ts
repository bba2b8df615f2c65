import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { flushFilesystem, flushesBySyncfs, prepareFlushes } from '../../src/fs/durable.js';
import { tempDir } from '../support/tmp.js';

// (tsx may have an esbuild child of its own.)
const shells = (): string[] => execFileSync('ps', ['--ppid', String(process.pid), '-o', 'comm=']).toString().split('\n').filter((c) => c === 'sh');

test('flushes of odd paths go through one helper process, started once', async () => {
  const dir = join(tempDir('bt-durable'), `a b'c"d $(x) \\e`);
  mkdirSync(dir);
  writeFileSync(join(dir, 'f'), 'x');
  prepareFlushes();
  for (let i = 0; i < 5; i++) await flushFilesystem(dir, [join(dir, 'f')]);
  // The helper answered ok each time (a failure would have switched to an fsync per file).
  assert.is(flushesBySyncfs(), true);
  assert.equal(shells(), ['sh']);
});

test('the helper never keeps the process alive', () => {
  const script = `import { flushFilesystem } from ${JSON.stringify(new URL('../../src/fs/durable.ts', import.meta.url).pathname)};
    await flushFilesystem('/tmp', ['/tmp']); console.log('flushed');`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8', timeout: 20_000 });
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stdout.trim(), 'flushed');
});

test.run();
