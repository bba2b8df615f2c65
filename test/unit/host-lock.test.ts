// The host lock excludes: several processes taking and releasing it as fast as they can are never inside
// at once (a lock file broken by a waiter that read it half-written, or moved aside after another took it,
// once let two in), and a holder's death frees it at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { acquireHostLock } from '../../src/service/host-lock.js';
import { holdHostLock } from '../support/host-lock.js';
import { tempDir } from '../support/tmp.js';

const hammer = fileURLToPath(new URL('../support/lock-hammer.ts', import.meta.url));

test('four processes taking the lock 400 times each are never inside together', async () => {
  const dir = tempDir('bt-lock');
  const log = join(dir, 'log');
  const exits = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<number | null>((resolve) => {
          const c = spawn(process.execPath, ['--import', 'tsx', hammer, dir, '400', log], { stdio: 'inherit' });
          c.on('exit', resolve);
        }),
    ),
  );
  assert.equal(exits, [0, 0, 0, 0]);
  const lines = readFileSync(log, 'utf8').trim().split('\n');
  assert.is(lines.length, 4 * 400 * 2);
  for (let i = 0; i < lines.length; i += 2) {
    const [enter, leave] = [lines[i]!, lines[i + 1]!];
    assert.ok(enter.startsWith('enter ') && leave === enter.replace('enter', 'leave'), `line ${i + 1}: ${enter} then ${leave}`);
  }
});

test('held elsewhere: waits, then names the holder; a holder that dies frees the lock at once', async () => {
  const dir = tempDir('bt-lock');
  const holding = holdHostLock(dir, { pid: 4242, command: 'backup', since: '2026-01-01T00:00:00.000Z' });
  const started = Date.now();
  const err = await acquireHostLock(dir, 'add', 300).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(Date.now() - started >= 300);
  assert.instance(err, Error);
  assert.is((err as Error).message, 'another bt is working on this host (backup, pid 4242, since 2026-01-01T00:00:00.000Z)');
  holding.release();
  // A holder killed while holding: nothing to break, the kernel released its lock.
  const script = `import { acquireHostLock } from ${JSON.stringify(new URL('../../src/service/host-lock.ts', import.meta.url).href)};
await acquireHostLock(${JSON.stringify(dir)}, 'backup', 0); process.kill(process.pid, 'SIGKILL');`;
  const killed = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.is(killed.signal, 'SIGKILL', killed.stderr);
  assert.ok(existsSync(join(dir, 'lock')), 'its label stays');
  const lock = await acquireHostLock(dir, 'add', 0);
  assert.is(JSON.parse(readFileSync(join(dir, 'lock'), 'utf8')).command, 'add');
  lock.release();
  assert.not.ok(existsSync(join(dir, 'lock')));
});

test('watchers started together over a dead one\'s status file: exactly one runs', async () => {
  const dir = tempDir('bt-lock');
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  const stale = { pid: Number(dead), host_id: 'h', since: '2026-01-01T00:00:00.000Z', updated_at: '2026-01-01T00:00:00.000Z', state: 'idle', settle_ms: 1, poll: false, directories: [], pending: 0, last_change_at: null, last_backup_at: null, last_backup_files: 0 };
  writeFileSync(join(dir, 'watch.json'), JSON.stringify(stale));
  const statusModule = JSON.stringify(new URL('../../src/service/watch-status.ts', import.meta.url).href);
  // Each takes the watcher lock, holds it a moment, and says whether it got it.
  const script = `import { acquireWatcherLock } from ${statusModule};
const s = ${JSON.stringify(stale)}; s.pid = process.pid;
try { const l = acquireWatcherLock(${JSON.stringify(dir)}, s); await new Promise((r) => setTimeout(r, 1500)); l.release(); console.log('ran'); }
catch (e) { console.log(e.kind === 'busy' && /a watcher is already running/.test(e.message) ? 'refused' : 'error ' + e.message); }`;
  const outcomes = await Promise.all(
    [1, 2, 3, 4].map(
      () =>
        new Promise<string>((resolve) => {
          let out = '';
          const c = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
          c.stdout.on('data', (d: Buffer) => (out += d.toString()));
          c.on('exit', () => resolve(out.trim()));
        }),
    ),
  );
  assert.equal(outcomes.sort(), ['ran', 'refused', 'refused', 'refused']);
  assert.not.ok(existsSync(join(dir, 'watch.json')), 'the one that ran removed its status');
});

test.run();
