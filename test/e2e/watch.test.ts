// `bt watch` end to end: the real binary watching temp directories; every wait is bounded, never a fixed sleep.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { holdHostLock } from '../support/host-lock.js';
import { BtHome } from '../support/cli.js';
import { listFiles } from '../support/files.js';

const SETTLE_MS = 300;
const DEADLINE_MS = 20_000;

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Every watcher a test started; killed after each test, whatever happened. */
type Child = ReturnType<BtHome['spawn']>;
const running = new Set<Child>();
const killAll = (): void => {
  for (const child of running) child.kill('SIGKILL');
  running.clear();
};
test.after.each(killAll);
process.on('exit', killAll);

async function waitUntil<T>(what: string | (() => string), probe: () => T | undefined | false, ms = DEADLINE_MS): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${typeof what === 'string' ? what : what()}`);
    await sleep(100);
  }
}

interface Watch {
  readonly pid: number;
  /** Everything the watcher wrote to stderr so far (its log lines). */
  output(): string;
  waitFor(re: RegExp, ms?: number): Promise<RegExpExecArray>;
  /** Sends the signal and waits (bounded) for the exit code. */
  stop(signal?: NodeJS.Signals, ms?: number): Promise<number>;
}

function startWatch(bt: BtHome, extra: readonly string[] = []): Watch {
  const child = bt.spawn(['watch', '--settle', String(SETTLE_MS), ...extra]);
  running.add(child);
  let out = '';
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  // 'close', not 'exit': by then everything it wrote to stderr has been read.
  const exited = new Promise<number>((resolve) =>
    child.on('close', (code, signal) => {
      running.delete(child);
      resolve(code ?? (signal ? 128 : -1));
    }),
  );
  return {
    pid: child.pid!,
    output: () => out,
    waitFor: (re, ms) => waitUntil(() => `${re} in the watcher's log:\n${out}`, () => re.exec(out) ?? undefined, ms),
    async stop(signal = 'SIGTERM', ms = DEADLINE_MS) {
      child.kill(signal);
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), ms)));
      const code = await Promise.race([exited, timeout]);
      clearTimeout(timer);
      if (code === undefined) throw new Error(`the watcher did not exit within ${ms} ms of ${signal}:\n${out}`);
      return code;
    },
  };
}

interface Log {
  deleted: boolean;
  versions: { checksum: string | null; size: number }[];
}

function logOf(bt: BtHome, file: string): Log | undefined {
  const r = bt.run(['log', file, '--json']);
  return r.code === 0 ? (JSON.parse(r.stdout) as Log) : undefined;
}

/** Waits until the newest committed version of `file` has exactly these bytes. */
const committed = (bt: BtHome, file: string, bytes: Buffer | string): Promise<Log> =>
  waitUntil(`${file} committed with checksum ${sha(bytes)}`, () => {
    const log = logOf(bt, file);
    return log && !log.deleted && log.versions[0]?.checksum === sha(bytes) ? log : undefined;
  });

const deleted = (bt: BtHome, file: string): Promise<Log> =>
  waitUntil(`${file} recorded as deleted`, () => {
    const log = logOf(bt, file);
    return log?.deleted ? log : undefined;
  });

interface StatusFile {
  path: string;
  state: string;
  pending: boolean;
}

/** Waits until every file under `dir` is backed up with nothing pending; returns their names. */
const allBackedUp = (bt: BtHome, dir: string, count: number): Promise<string[]> =>
  waitUntil(`${count} files backed up under ${dir}`, () => {
    const files = bt.json<{ files: StatusFile[] }>(['dir', 'status', dir]).files;
    const ok = files.length === count && files.every((f) => f.state === 'backed-up' && !f.pending);
    return ok ? files.map((f) => f.path) : undefined;
  }, 40_000);

function trackedDir(bt: BtHome, name: string): string {
  const dir = join(bt.work, name);
  mkdirSync(dir, { recursive: true });
  bt.ok(['dir', 'init'], { cwd: dir });
  return dir;
}

test('creates, changes, renames and deletions become committed snapshots and deletions', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'docs');
  const w = startWatch(bt);
  await w.waitFor(/docs: rescanned/);

  const a = join(dir, 'a.txt');
  writeFileSync(a, 'first\n');
  await committed(bt, a, 'first\n');
  writeFileSync(a, 'second, longer\n');
  const log = await committed(bt, a, 'second, longer\n');
  assert.equal(log.versions.map((v) => v.checksum), [sha('second, longer\n'), sha('first\n')]);

  mkdirSync(join(dir, 'sub/deeper'), { recursive: true });
  const b = join(dir, 'sub/deeper/b.bin');
  const bytes = Buffer.alloc(200_000, 9);
  writeFileSync(b, bytes);
  await committed(bt, b, bytes);
  rmSync(b);
  await deleted(bt, b);

  // A rename is a deletion of the old name and a new file under the new one.
  const c = join(dir, 'c.txt');
  renameSync(a, c);
  await committed(bt, c, 'second, longer\n');
  await deleted(bt, a);

  // Ignored by the default list (a directory pattern and a file pattern): never staged.
  mkdirSync(join(dir, 'node_modules/pkg'), { recursive: true });
  writeFileSync(join(dir, 'node_modules/pkg/index.js'), 'x');
  writeFileSync(join(dir, 'notes.txt.swp'), 'swap');
  writeFileSync(join(dir, 'marker.txt'), 'after the ignored ones');
  await committed(bt, join(dir, 'marker.txt'), 'after the ignored ones');
  assert.is(logOf(bt, join(dir, 'node_modules/pkg/index.js')), undefined);
  assert.is(logOf(bt, join(dir, 'notes.txt.swp')), undefined);

  assert.is(await w.stop(), 0);
  assert.match(w.output(), /watcher stopped/);
  assert.ok(bt.json<{ files: StatusFile[] }>(['dir', 'status', dir]).files.every((f) => !f.pending));
  const logFile = readFileSync(join(bt.home, 'data/bt/log/watch.log'), 'utf8');
  assert.match(logFile, /^\d{4}-\d\d-\d\dT[\d:.]+Z watcher started/m);
  assert.match(logFile, /Z deleted .*b\.bin$/m);
});

test('50 quick writes to one file make one or few snapshots, holding the last content', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'burst');
  const w = startWatch(bt);
  await w.waitFor(/burst: rescanned/);
  const file = join(dir, 'busy.txt');
  let last = '';
  for (let i = 1; i <= 50; i++) {
    last = `write number ${i}\n`.repeat(i);
    writeFileSync(file, last);
    await sleep(4);
  }
  await committed(bt, file, last);
  // Give a straggler time to show up before counting.
  await sleep(3 * SETTLE_MS);
  const versions = logOf(bt, file)!.versions;
  assert.ok(versions.length >= 1 && versions.length <= 3, `${versions.length} snapshots for 50 writes`);
  assert.is(versions[0]!.checksum, sha(last));
  const out = join(bt.home, 'busy.out');
  bt.ok(['restore', file, '--output', out]);
  assert.is(readFileSync(out, 'utf8'), last);
  assert.is(await w.stop(), 0);
});

test('changes made while no watcher ran are picked up at start; a .btignore edit takes effect', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'home');
  writeFileSync(join(dir, 'keep.txt'), 'v1');
  writeFileSync(join(dir, 'gone.txt'), 'soon gone');
  let w = startWatch(bt);
  await committed(bt, join(dir, 'keep.txt'), 'v1');
  await committed(bt, join(dir, 'gone.txt'), 'soon gone');
  assert.is(await w.stop(), 0);

  writeFileSync(join(dir, 'keep.txt'), 'v2 written while stopped');
  writeFileSync(join(dir, 'new.txt'), 'new while stopped');
  rmSync(join(dir, 'gone.txt'));
  w = startWatch(bt);
  await committed(bt, join(dir, 'keep.txt'), 'v2 written while stopped');
  await committed(bt, join(dir, 'new.txt'), 'new while stopped');
  await deleted(bt, join(dir, 'gone.txt'));

  // Rules of a .btignore apply to events, and a changed .btignore applies without a restart.
  writeFileSync(join(dir, '.btignore'), '*.log\n');
  await committed(bt, join(dir, '.btignore'), '*.log\n');
  writeFileSync(join(dir, 'debug.log'), 'noise');
  writeFileSync(join(dir, 'after.txt'), 'after the rule');
  await committed(bt, join(dir, 'after.txt'), 'after the rule');
  assert.is(logOf(bt, join(dir, 'debug.log')), undefined);
  writeFileSync(join(dir, '.btignore'), '# nothing ignored any more\n');
  await committed(bt, join(dir, 'debug.log'), 'noise');
  assert.is(await w.stop(), 0);
});

test('a directory tracked while the watcher runs is watched; bt never watches its own directories', async () => {
  const bt = new BtHome('bt-watch').init();
  const w = startWatch(bt);
  await w.waitFor(/watcher started/);
  // The whole HOME: it holds bt's base directory (database, staging, vault, the watcher's own log).
  bt.ok(['dir', 'init'], { cwd: bt.home });
  await w.waitFor(/bt-watch-\w+: rescanned/);
  const later = join(bt.work, 'later');
  mkdirSync(later);
  writeFileSync(join(later, 'file.txt'), 'in a directory created later');
  await committed(bt, join(later, 'file.txt'), 'in a directory created later');
  // Its own writes (journal, staging, vault, log) must not wake it: after this backup, the log stays quiet.
  // The new directory is logged as a directory ("later: 1 staged") or its file as a file ("staged .../file.txt").
  await w.waitFor(/(staged \S*later\/file\.txt|later: 1 staged)[^\n]*\n(.*\n)*.*backed up[^\n]*\n/);
  const before = w.output();
  await sleep(2000 + 3 * SETTLE_MS);
  const extra = w.output().slice(before.length);
  assert.not.match(extra, /staged|backing up|rescanned/, `the watcher reacted to its own writes:\n${extra}`);
  assert.is(logOf(bt, join(bt.home, 'data/bt/log/watch.log')), undefined);
  assert.is(await w.stop(), 0);
});

test('a change to directories alone (a new empty directory, then its removal) is recorded and backed up to the vault', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'docs');
  writeFileSync(join(dir, 'a.txt'), 'a');
  const w = startWatch(bt);
  await w.waitFor(/docs: rescanned/);
  await committed(bt, join(dir, 'a.txt'), 'a');
  mkdirSync(join(dir, 'empty'));
  // Recorded in the journal, then synced: the vault holds as many events as the journal.
  const journalEvents = (): { seq: number; type: string; summary: string }[] =>
    bt.json<{ events: { seq: number; type: string; summary: string }[] }>(['journal']).events;
  const recorded = await waitUntil('the new directory recorded', () =>
    journalEvents().find((e) => e.type === 'DirectoryMetaRecorded' && e.summary.startsWith(`directory ${join(dir, 'empty')} `)));
  const inVault = (seq: number): Promise<boolean> =>
    waitUntil(() => `event ${seq} in the vault:\n${w.output()}`, () => {
      const hosts = bt.json<{ hosts: { events: number; this_host: boolean }[] }>(['hosts']).hosts;
      return (hosts.find((h) => h.this_host)?.events ?? 0) >= seq;
    });
  await inVault(recorded.seq);
  const out = join(bt.work, 'out');
  bt.ok(['restore', dir, '--output', out]);
  assert.equal(readdirSync(out).sort(), ['a.txt', 'empty']);
  // Removed again: no file was under it, and its removal is recorded and backed up all the same.
  rmSync(join(dir, 'empty'), { recursive: true });
  const removed = await waitUntil('the removal recorded', () =>
    journalEvents().find((e) => e.type === 'DirectoryRemoved' && e.summary === `directory ${join(dir, 'empty')} removed`));
  await inVault(removed.seq);
  // A directory holding one file, removed: logged as a directory, not as "deleted" alone.
  mkdirSync(join(dir, 'one'));
  writeFileSync(join(dir, 'one/f.txt'), 'f');
  await committed(bt, join(dir, 'one/f.txt'), 'f');
  rmSync(join(dir, 'one'), { recursive: true });
  await deleted(bt, join(dir, 'one/f.txt'));
  await w.waitFor(/one: 0 staged \(0 B\), 1 deleted, \d directory change\(s\)$/m);
  assert.not.match(w.output(), /deleted \S*one$/m);
  assert.is(await w.stop(), 0);
  const again = join(bt.work, 'again');
  bt.ok(['restore', dir, '--output', again]);
  assert.equal(readdirSync(again), ['a.txt']);
});

test('a tracked directory replaced by a symlink is not watched (nor staged) until it is a directory again', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'real');
  writeFileSync(join(dir, 'a.txt'), 'a');
  bt.ok(['add'], { cwd: dir });
  bt.ok(['backup']);
  renameSync(dir, `${dir}.moved`);
  symlinkSync(`${dir}.moved`, dir);
  const w = startWatch(bt);
  await w.waitFor(/real: the tracked directory is not there; not watching it until it is/);
  assert.is(await w.stop(), 0);
  assert.not.match(w.output(), /could not stage|real: watching/);
  rmSync(dir);
  renameSync(`${dir}.moved`, dir);
  assert.is(logOf(bt, join(dir, 'a.txt'))?.deleted, false);
});

test('--poll watches by stat polling; an overflowing queue falls back to a rescan and loses nothing', async () => {
  const bt = new BtHome('bt-watch', { BT_WATCH_QUEUE_LIMIT: '50' }).init();
  const dir = trackedDir(bt, 'polled');
  const w = startWatch(bt, ['--poll']);
  await w.waitFor(/polled: rescanned/);
  assert.match(w.output(), /polling/);
  writeFileSync(join(dir, 'p.txt'), 'polled 1');
  await committed(bt, join(dir, 'p.txt'), 'polled 1');
  assert.is(await w.stop(), 0);

  const n = startWatch(bt);
  await n.waitFor(/polled: rescanned/);
  // Straight into the watched directory: 200 events for a queue of 50.
  for (let i = 0; i < 200; i++) writeFileSync(join(dir, `m${i}.txt`), `many ${i}`);
  await n.waitFor(/polled: too many changes pending; dropping them for one rescan/);
  await allBackedUp(bt, dir, 201);
  assert.is(await n.stop(), 0);
});

test('a second watcher refuses to start; --status tells whether one runs', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'one');
  const none = bt.json<{ running: boolean }>(['watch', '--status']);
  assert.is(none.running, false);
  assert.match(bt.ok(['watch', '--status']), /no watcher running/);

  const w = startWatch(bt);
  writeFileSync(join(dir, 'x.txt'), 'x');
  await committed(bt, join(dir, 'x.txt'), 'x');
  const second = bt.run(['watch', '--settle', String(SETTLE_MS)]);
  assert.is(second.code, 5);
  const lines = second.stderr.trim().split('\n');
  assert.is(lines.length, 1, second.stderr);
  assert.match(lines[0]!, new RegExp(`a watcher is already running for this host \\(pid ${w.pid}, since `));

  const status = await waitUntil('a backup in the status', () => {
    const s = bt.json<{ running: boolean; pid: number; directories: string[]; last_backup_at: string | null; state: string }>(['watch', '--status']);
    return s.last_backup_at !== null ? s : undefined;
  });
  assert.is(status.running, true);
  assert.is(status.pid, w.pid);
  assert.equal(status.directories, [dir]);
  assert.match(bt.ok(['watch', '--status']), new RegExp(`watcher running: pid ${w.pid}`));

  assert.is(await w.stop('SIGINT'), 0);
  assert.is(bt.json<{ running: boolean }>(['watch', '--status']).running, false);
});

test('bt backup by hand while the watcher runs succeeds and corrupts nothing', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'shared');
  const w = startWatch(bt);
  await w.waitFor(/shared: rescanned/);
  for (let i = 0; i < 300; i++) writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`.repeat(50));
  // Race the watcher: stage and back up by hand while it stages the same files.
  await sleep(SETTLE_MS);
  const add = bt.run(['add', dir]);
  assert.ok(add.code === 0, add.stderr);
  const manual = bt.run(['backup']);
  assert.is(manual.code, 0, manual.stderr);
  for (let i = 0; i < 300; i += 7) writeFileSync(join(dir, `f${i}.txt`), `changed ${i}\n`);
  assert.is(bt.run(['backup']).code, 0);
  await allBackedUp(bt, dir, 300);
  for (let i = 0; i < 300; i += 49) assert.is(logOf(bt, join(dir, `f${i}.txt`))!.versions[0]!.checksum, sha(`changed ${i}\n`));
  const verify = bt.run(['journal', 'verify']);
  assert.is(verify.code, 0, verify.stdout + verify.stderr);

  // A long manual command holds the host lock: the watcher waits (bounded, retrying), then carries on.
  const holding = holdHostLock(join(bt.home, 'data/bt/data'), { pid: process.pid, command: 'backup', since: new Date().toISOString() });
  writeFileSync(join(dir, 'while-locked.txt'), 'written while the lock was held');
  await w.waitFor(new RegExp(`waiting: another bt is working on this host \\(backup, pid ${process.pid}`));
  assert.is(logOf(bt, join(dir, 'while-locked.txt')), undefined);
  holding.release();
  await committed(bt, join(dir, 'while-locked.txt'), 'written while the lock was held');
  await w.waitFor(/the host lock is free again/);
  assert.is(await w.stop(), 0);
});

test('ignore rules changed in bt.toml while the watcher runs: a directory ignored before is rescanned and watched', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'project');
  mkdirSync(join(dir, 'node_modules'));
  writeFileSync(join(dir, 'node_modules', 'old.js'), 'there before');
  writeFileSync(join(dir, 'main.js'), 'main');
  const w = startWatch(bt);
  await committed(bt, join(dir, 'main.js'), 'main');
  assert.is(logOf(bt, join(dir, 'node_modules', 'old.js')), undefined, 'ignored by the default rules');
  const cfg = join(bt.home, '.config/bt.toml');
  const text = readFileSync(cfg, 'utf8');
  assert.match(text, /"node_modules\/", /);
  writeFileSync(cfg, text.replace('"node_modules/", ', ''));
  await w.waitFor(/ignore rules changed; watching it again with the new rules/);
  // Found by the rescan that follows, with no change to it; then its changes come as events.
  await committed(bt, join(dir, 'node_modules', 'old.js'), 'there before');
  writeFileSync(join(dir, 'node_modules', 'new.js'), 'written after');
  await committed(bt, join(dir, 'node_modules', 'new.js'), 'written after');
  assert.is(await w.stop(), 0);
});

test('a vault added while the watcher runs gets the versions before at once and the next ones; a removed one gets nothing more', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'vaults');
  writeFileSync(join(dir, 'before.txt'), 'backed up before the second vault');
  const w = startWatch(bt);
  await committed(bt, join(dir, 'before.txt'), 'backed up before the second vault');
  const second = join(bt.home, 'second');
  bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  bt.ok(['config', 'vault', 'init']);
  // Read within a directory poll, and the history copied in at once, before any file changes.
  await w.waitFor(/config read again: vaults now "local", "second"/);
  await w.waitFor(/vault "second": 1 content\(s\) copied from the other vaults/);
  const before = sha('backed up before the second vault');
  assert.is(readFileSync(join(second, 'content', before.slice(0, 2), before), 'utf8'), 'backed up before the second vault');
  writeFileSync(join(dir, 'after.txt'), 'backed up after');
  await committed(bt, join(dir, 'after.txt'), 'backed up after');
  // The new version went to both; the older one was copied in by the same backup.
  for (const [name, body] of [['before.txt', 'backed up before the second vault'], ['after.txt', 'backed up after']]) {
    const id = sha(body!);
    assert.is(readFileSync(join(second, 'content', id.slice(0, 2), id), 'utf8'), body, name);
  }
  bt.ok(['config', 'vault', 'remove', 'local']);
  writeFileSync(join(dir, 'later.txt'), 'after local was removed');
  await committed(bt, join(dir, 'later.txt'), 'after local was removed');
  const later = sha('after local was removed');
  assert.ok(existsSync(join(second, 'content', later.slice(0, 2), later)));
  assert.not.ok(existsSync(join(bt.vault, 'content', later.slice(0, 2), later)), 'nothing more goes to a removed vault');
  assert.is(await w.stop(), 0);
});

test('a vault away while the watcher runs: versions are committed to the other, --status says retrying, and the vault is caught up when it is back', async () => {
  const bt = new BtHome('bt-watch').init();
  const usb = join(bt.home, 'usb');
  bt.ok(['config', 'vault', 'add', 'usb', '--type', 'fs', '--path', usb]);
  bt.ok(['config', 'vault', 'init']);
  const dir = trackedDir(bt, 'away');
  const w = startWatch(bt);
  await w.waitFor(/away: rescanned/);
  renameSync(usb, `${usb}.away`);
  writeFileSync(join(dir, 'while-away.txt'), 'the disk was unplugged');
  await committed(bt, join(dir, 'while-away.txt'), 'the disk was unplugged');
  await w.waitFor(/vault\(s\) "usb" missed versions; the journal did not reach vault\(s\) "usb"; trying again in 30 s/);
  await waitUntil('the retrying state', () => bt.json<{ state: string }>(['watch', '--status']).state === 'retrying' || undefined);
  renameSync(`${usb}.away`, usb);
  await w.waitFor(/vault "usb": 1 content\(s\) copied from the other vaults/, 60_000);
  const id = sha('the disk was unplugged');
  assert.is(readFileSync(join(usb, 'content', id.slice(0, 2), id), 'utf8'), 'the disk was unplugged');
  await waitUntil('the idle state', () => bt.json<{ state: string }>(['watch', '--status']).state === 'idle' || undefined);
  assert.is(await w.stop(), 0);
});

test('SIGTERM during a backup stops cleanly; a restart commits everything, nothing lost', async () => {
  const bt = new BtHome('bt-watch').init();
  const dir = trackedDir(bt, 'many');
  const expected = new Map<string, Buffer>();
  for (let i = 0; i < 3000; i++) {
    const name = `d${i % 40}/f${i}.bin`;
    const bytes = Buffer.from(`${name}\n${'payload '.repeat(64 + (i % 50))}${i}\n`);
    mkdirSync(join(dir, `d${i % 40}`), { recursive: true });
    writeFileSync(join(dir, name), bytes);
    expected.set(name, bytes);
  }
  let w = startWatch(bt);
  await w.waitFor(/backing up 3000 staged file\(s\)/, 40_000);
  assert.is(await w.stop('SIGTERM', 60_000), 0);
  const out = w.output();
  const at = (re: RegExp): number => out.search(re);
  // The signal landed while the backup ran; the backup finished, then the watcher exited.
  assert.ok(at(/backing up 3000/) < at(/stopping \(SIGTERM\)/), out);
  assert.ok(at(/stopping \(SIGTERM\)/) < at(/backed up 3000 file/), out);
  assert.ok(at(/watcher stopped/) > at(/stopping \(SIGTERM\)/), out);
  // It stopped taking events at once: nothing is staged after the signal.
  assert.not.match(out.slice(at(/stopping \(SIGTERM\)/)), /staged|rescanned/);

  // More changes while it is down, then a restart.
  for (let i = 0; i < 3000; i += 97) {
    const name = `d${i % 40}/f${i}.bin`;
    const bytes = Buffer.from(`rewritten while stopped ${i}\n`);
    writeFileSync(join(dir, name), bytes);
    expected.set(name, bytes);
  }
  rmSync(join(dir, 'd1/f1.bin'));
  expected.delete('d1/f1.bin');
  w = startWatch(bt);
  const names = await allBackedUp(bt, dir, expected.size);
  assert.equal(names.sort(), [...expected.keys()].sort());
  assert.is(logOf(bt, join(dir, 'd1/f1.bin'))!.deleted, true);
  assert.is(await w.stop(), 0);

  const restored = join(bt.home, 'restored');
  bt.ok(['restore', dir, '--output', restored]);
  assert.equal(listFiles(restored), [...expected.keys()].sort());
  for (const [name, bytes] of expected) assert.ok(readFileSync(join(restored, name)).equals(bytes), `${name} differs`);
  const verify = bt.run(['journal', 'verify']);
  assert.is(verify.code, 0, verify.stdout + verify.stderr);
  assert.equal(listFiles(join(bt.home, 'data/bt/staging')), []);
});

test.run();
