// The whole workflow on the default filesystem vault, through the real binary in a temporary HOME.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { backedUpDir } from '../support/scenarios.js';
import { BtHome } from '../support/cli.js';
import { modeOf, stagedCopies, vaultObjects } from '../support/files.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

test('the story: two versions of a file come back with their bytes, mode and mtime', () => {
  const bt = new BtHome();
  const out = bt.ok(['config', 'init']);
  assert.match(out, /host id [0-9A-Z]{26}/);
  assert.match(bt.ok(['config', 'vault', 'init']), /vault "local": write, read-back and delete of a probe object: ok/);
  const docs = join(bt.work, 'docs');
  mkdirSync(docs);
  assert.match(bt.ok(['dir', 'init'], { cwd: docs }), new RegExp(`tracking ${docs}`));

  const file = join(docs, 'notes.txt');
  const v1 = Buffer.from('first version\n');
  writeFileSync(file, v1);
  chmodSync(file, 0o644);
  utimesSync(file, new Date('2024-01-02T03:04:05.678Z'), new Date('2024-01-02T03:04:05.678Z'));
  const mtime1 = statSync(file, { bigint: true }).mtimeNs;
  const add1 = bt.json<{ staged: number; unchanged: number }>(['add'], { cwd: docs });
  assert.is(add1.staged, 1);
  const b1 = bt.json<{ files: number; bytes_sent: number }>(['backup']);
  assert.is(b1.files, 1);
  assert.is(b1.bytes_sent, v1.length);

  const v2 = Buffer.from('second version, longer\n');
  writeFileSync(file, v2);
  chmodSync(file, 0o600);
  utimesSync(file, new Date('2025-05-06T07:08:09.123Z'), new Date('2025-05-06T07:08:09.123Z'));
  const mtime2 = statSync(file, { bigint: true }).mtimeNs;
  assert.is(bt.json<{ staged: number }>(['add', 'notes.txt'], { cwd: docs }).staged, 1);
  assert.is(bt.json<{ files: number }>(['backup']).files, 1);

  const log = bt.json<{ versions: { version: number; checksum: string; size: number; mode: string; mtime: string; changes: string[]; vaults: string[] }[] }>(['log', 'notes.txt'], { cwd: docs });
  assert.equal(log.versions.map((v) => v.version), [2, 1]);
  assert.equal(log.versions.map((v) => v.checksum), [sha(v2), sha(v1)]);
  assert.equal(log.versions.map((v) => v.mode), ['0600', '0644']);
  const iso = (ns: bigint): string => new Date(Number(ns / 1_000_000n)).toISOString();
  assert.equal(log.versions.map((v) => v.mtime), [iso(mtime2), iso(mtime1)]);
  assert.equal(log.versions.map((v) => v.mtime.slice(0, 19)), ['2025-05-06T07:08:09', '2024-01-02T03:04:05']);
  assert.ok(log.versions[0]!.changes.includes('content'));
  assert.ok(log.versions[0]!.changes.includes('mode 644 -> 600'));
  assert.equal(log.versions[1]!.changes, ['first version']);
  assert.equal(log.versions[0]!.vaults, ['local']);
  const text = bt.ok(['log', 'notes.txt'], { cwd: docs });
  assert.match(text, /version 2 .* [0-9a-f]{64}/);

  for (const [n, bytes, mode, mtime] of [[1, v1, 0o644, mtime1], [2, v2, 0o600, mtime2]] as const) {
    const target = join(bt.home, `restored-v${n}`);
    bt.ok(['restore', 'notes.txt', '--version', String(n), '--output', target], { cwd: docs });
    assert.equal(readFileSync(target), bytes);
    assert.is(modeOf(target), mode);
    // utimes takes seconds as a double: the restored time is the original to the microsecond.
    const restored = statSync(target, { bigint: true }).mtimeNs;
    const diff = restored > mtime ? restored - mtime : mtime - restored;
    assert.ok(diff <= 1000n, `mtime of v${n}: ${restored} vs ${mtime}`);
  }

  // Default target: beside the original, named by checksum; never overwritten without --force.
  const beside = bt.json<{ output: string; version: number }>(['restore', 'notes.txt', '--version', '1'], { cwd: docs });
  assert.is(beside.output, `${file}.${sha(v1)}`);
  assert.equal(readFileSync(beside.output), v1);
  const again = bt.run(['restore', 'notes.txt', '--version', '1'], { cwd: docs });
  assert.is(again.code, 1);
  assert.match(again.stderr, /already exists; use --force to overwrite it, or --output to write elsewhere/);
  writeFileSync(beside.output, 'scribbled');
  bt.ok(['restore', 'notes.txt', '--version', '1', '--force'], { cwd: docs });
  assert.equal(readFileSync(beside.output), v1);

  // --checksum prefix and --content-only.
  const co = join(bt.home, 'content-only');
  bt.ok(['restore', 'notes.txt', '--checksum', sha(v1).slice(0, 8), '--content-only', '--output', co], { cwd: docs });
  assert.equal(readFileSync(co), v1);
  assert.ok(statSync(co, { bigint: true }).mtimeNs > mtime2, 'content-only keeps the time of writing');
  assert.is(modeOf(co), 0o644 & ~process.umask());

  // DIR/ names a directory, made if missing (as cp does): the file goes inside it under its own name.
  const into = join(bt.home, 'into', 'deeper');
  bt.ok(['restore', 'notes.txt', '--version', '1', '--output', `${into}/`], { cwd: docs });
  assert.equal(readFileSync(join(into, 'notes.txt')), v1);

  // Rebuilding the projections from the journal changes nothing a user sees.
  const before = bt.ok(['log', 'notes.txt', '--json'], { cwd: docs });
  const rebuilt = bt.json<{ events: number }>(['rebuild']);
  assert.is(rebuilt.events, 6); // tracked; the directory's metadata; staged and committed (with what was stored) twice
  assert.is(bt.ok(['log', 'notes.txt', '--json'], { cwd: docs }), before);
});

test('copies staged by a bt before the staging buckets (at the top of the area) are backed up by this one', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'older');
  mkdirSync(d);
  writeFileSync(join(d, 'a.txt'), 'staged before the upgrade\n');
  writeFileSync(join(d, 'b.txt'), 'also staged before\n');
  bt.ok(['dir', 'init'], { cwd: d });
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, 2);
  // Put the copies where the older layout kept them.
  const staging = join(bt.home, 'data/bt/staging');
  const ids = stagedCopies(staging);
  assert.is(ids.length, 2);
  for (const id of ids) renameSync(join(staging, id.slice(-1), id), join(staging, id));
  const b = bt.json<{ files: number; failed: unknown[] }>(['backup']);
  assert.is(b.files, 2);
  assert.equal(b.failed, []);
  assert.equal(stagedCopies(staging), []);
  // Emptied buckets go (an emptied directory stays as slow to read as a full one); the next add makes them again.
  assert.equal(readdirSync(staging), []);
  writeFileSync(join(d, 'c.txt'), 'staged after the buckets went\n');
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, 1);
  assert.is(stagedCopies(staging).length, 1);
  assert.is(bt.json<{ files: number }>(['backup']).files, 1);
  assert.equal(readdirSync(staging), []);
  const out = join(bt.home, 'older-restored');
  bt.ok(['restore', d, '--output', out]);
  assert.is(readFileSync(join(out, 'a.txt'), 'utf8'), 'staged before the upgrade\n');
  assert.is(readFileSync(join(out, 'b.txt'), 'utf8'), 'also staged before\n');
});

test('a file larger than the small-file path (3 MiB) goes through add, backup and restore intact', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'big');
  mkdirSync(d);
  const data = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < data.length; i += 4) data.writeUInt32LE((i * 2654435761) >>> 0, Math.min(i, data.length - 4));
  writeFileSync(join(d, 'big.bin'), data);
  bt.ok(['dir', 'init'], { cwd: d });
  assert.is(bt.json<{ staged_bytes: number }>(['add'], { cwd: d }).staged_bytes, data.length);
  assert.is(bt.json<{ bytes_sent: number }>(['backup']).bytes_sent, data.length);
  assert.equal(vaultObjects(bt.vault), [sha(data)]);
  const out = join(bt.home, 'big.out');
  bt.ok(['restore', 'big.bin', '--output', out], { cwd: d });
  assert.ok(readFileSync(out).equals(data));
});

test('times before 1970 are kept: log shows them, restore (one file or the tree) sets them; add leaves atime alone', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'old');
  mkdirSync(d);
  // Set by touch, to the nanosecond: Node's utimes cannot set times before 1970 from a number.
  const times = { 'a.txt': '1960-02-22 05:06:07.123456789 UTC', 'b.txt': '1969-12-31 23:59:59.5 UTC' };
  for (const [name, when] of Object.entries(times)) {
    writeFileSync(join(d, name), `${name}\n`);
    execFileSync('touch', ['-d', when, join(d, name)]);
  }
  const mtimes = Object.fromEntries(Object.keys(times).map((n) => [n, statSync(join(d, n), { bigint: true }).mtimeNs]));
  const atimeOfB = (): bigint => statSync(join(d, 'b.txt'), { bigint: true }).atimeNs;
  assert.equal(mtimes, { 'a.txt': -311_108_032_876_543_211n, 'b.txt': -500_000_000n }, 'test setup: times before 1970');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  // Reading a file for the backup leaves its access time alone (O_NOATIME), so the one recorded is the user's.
  assert.is(atimeOfB(), -500_000_000n);
  bt.ok(['backup']);
  assert.is(bt.json<{ staged: number; unchanged: number }>(['add'], { cwd: d }).unchanged, 2);
  const log = bt.json<{ versions: { mtime: string }[] }>(['log', 'a.txt'], { cwd: d });
  assert.is(log.versions[0]!.mtime, '1960-02-22T05:06:07.123Z');

  const one = join(bt.home, 'a.out');
  bt.ok(['restore', 'a.txt', '--output', one], { cwd: d });
  // Restored to the microsecond at or before (utimes' resolution), as after 1970.
  assert.is(statSync(one, { bigint: true }).mtimeNs, -311_108_032_876_544_000n);
  const tree = join(bt.home, 'tree');
  bt.ok(['restore', '.', '--output', tree], { cwd: d });
  assert.is(statSync(join(tree, 'a.txt'), { bigint: true }).mtimeNs, -311_108_032_876_544_000n);
  assert.is(statSync(join(tree, 'b.txt'), { bigint: true }).mtimeNs, -500_000_000n);
  assert.is(statSync(join(tree, 'b.txt'), { bigint: true }).atimeNs, -500_000_000n);
});

test('identical bytes are stored once, also across two tracked directories', () => {
  const bt = new BtHome().init();
  for (const d of ['a', 'b']) {
    mkdirSync(join(bt.work, d, 'sub'), { recursive: true });
    bt.ok(['dir', 'init'], { cwd: join(bt.work, d) });
  }
  const same = Buffer.alloc(10_000, 7);
  writeFileSync(join(bt.work, 'a/one.bin'), same);
  writeFileSync(join(bt.work, 'a/sub/two.bin'), same);
  writeFileSync(join(bt.work, 'b/three.bin'), same);
  writeFileSync(join(bt.work, 'b/other.bin'), 'different');
  bt.ok(['add'], { cwd: join(bt.work, 'a') });
  bt.ok(['add', join(bt.work, 'b')]);
  const r = bt.json<{ files: number; bytes_sent: number; bytes_deduped: number }>(['backup']);
  assert.is(r.files, 4);
  assert.is(r.bytes_sent, same.length + 'different'.length);
  assert.is(r.bytes_deduped, 2 * same.length);
  assert.equal(vaultObjects(bt.vault).sort(), [sha(same), sha('different')].sort());
});

test('a restore reads from the vaults in the order of the config, whatever their names', () => {
  const bt = new BtHome().init();
  // "aaa" sorts before "local", the first vault in the config.
  bt.ok(['config', 'vault', 'add', 'aaa', '--type', 'fs', '--path', join(bt.home, 'second-vault')]);
  bt.ok(['config', 'vault', 'init']);
  const d = backedUpDir(bt, { 'f.txt': 'in both vaults' });
  const one = bt.run(['restore', join(d, 'f.txt'), '--output', join(bt.home, 'one')]);
  assert.is(one.stdout, `restored version 1 (14 B) to ${join(bt.home, 'one')} from vault "local"\n`);
});

test('dir init: a parent absorbs tracked children with their history; inside a tracked dir it says which', () => {
  const bt = new BtHome().init();
  const child = join(bt.work, 'p/child');
  mkdirSync(join(child, 'deep'), { recursive: true });
  writeFileSync(join(child, 'deep/f.txt'), 'v1');
  bt.ok(['dir', 'init'], { cwd: child });
  bt.ok(['add'], { cwd: child });
  bt.ok(['backup']);

  const inside = bt.json<{ status: string; directory: string; absorbed: string[] }>(['dir', 'init'], { cwd: join(child, 'deep') });
  assert.equal([inside.status, inside.directory, inside.absorbed], ['inside-tracked', child, []]);
  assert.match(bt.ok(['dir', 'init'], { cwd: join(child, 'deep') }), new RegExp(`already tracked as part of ${child}`));
  assert.match(bt.ok(['dir', 'init'], { cwd: child }), /is already tracked/);

  const parent = join(bt.work, 'p');
  const out = bt.ok(['dir', 'init'], { cwd: parent });
  assert.match(out, new RegExp(`absorbed ${child}`));
  writeFileSync(join(child, 'deep/f.txt'), 'v2!');
  bt.ok(['add'], { cwd: parent });
  bt.ok(['backup']);
  const log = bt.json<{ versions: { version: number; checksum: string }[] }>(['log', 'child/deep/f.txt'], { cwd: parent });
  assert.equal(log.versions.map((v) => v.checksum), [sha('v2!'), sha('v1')]);
  const status = bt.json<{ directory: string; files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: parent });
  assert.is(status.directory, parent);
  assert.equal(status.files, [{ path: 'child/deep/f.txt', state: 'backed-up', pending: false, backed_up: true }] as never);
});

test('ignore rules: the config list and .btignore files (gitignore syntax, deeper files win)', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'proj');
  mkdirSync(join(d, 'node_modules/x'), { recursive: true });
  mkdirSync(join(d, 'logs'), { recursive: true });
  mkdirSync(join(d, 'src/gen'), { recursive: true });
  writeFileSync(join(d, 'node_modules/x/index.js'), 'dep');
  writeFileSync(join(d, 'notes.swp'), 'swap');
  writeFileSync(join(d, '.btignore'), 'logs/\n*.log\nsrc/gen/*\n!src/gen/keep.txt\n');
  writeFileSync(join(d, 'logs/a.txt'), 'log dir');
  writeFileSync(join(d, 'top.log'), 'log');
  writeFileSync(join(d, 'src/gen/out.js'), 'generated');
  writeFileSync(join(d, 'src/gen/keep.txt'), 'keep');
  writeFileSync(join(d, 'src/main.ts'), 'code');
  mkdirSync(join(d, 'src/sub'));
  writeFileSync(join(d, 'src/sub/.btignore'), '!important.log\n');
  writeFileSync(join(d, 'src/sub/important.log'), 'kept by a deeper rule');
  bt.ok(['dir', 'init'], { cwd: d });
  const status = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: d });
  assert.equal(status.files.map((f) => f.path), ['.btignore', 'src/gen/keep.txt', 'src/main.ts', 'src/sub/.btignore', 'src/sub/important.log']);
  assert.ok(status.files.every((f) => f.state === 'untracked'));
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, 5);
});

test('symlinks are recorded as links and restored as links; special files are skipped with a notice', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'links');
  mkdirSync(d);
  mkdirSync(join(bt.work, 'outside'));
  writeFileSync(join(bt.work, 'outside/secret.txt'), 'not to be followed');
  writeFileSync(join(d, 'target.txt'), 'data');
  symlinkSync('target.txt', join(d, 'rel-link'));
  symlinkSync(join(bt.work, 'outside'), join(d, 'dir-link'));
  execFileSync('mkfifo', [join(d, 'pipe')]);
  bt.ok(['dir', 'init'], { cwd: d });
  const add = bt.run(['add', '--json'], { cwd: d });
  assert.is(add.code, 0);
  const added = JSON.parse(add.stdout) as { staged: number; skipped: unknown[]; passed_over: { path: string; reason: string }[] };
  assert.is(added.staged, 3);
  assert.match(add.stderr, /pipe: skipped: a FIFO/);
  // Passed over on purpose (nothing of it can be backed up), so the run is not partial; --json says so too.
  assert.equal(added.skipped, []);
  assert.equal(added.passed_over, [{ path: join(d, 'pipe'), reason: 'skipped: a FIFO' }]);
  bt.ok(['backup']);
  const log = bt.json<{ versions: { kind: string; link_target: string; checksum: string | null }[] }>(['log', 'dir-link'], { cwd: d });
  assert.equal(log.versions.map((v) => [v.kind, v.link_target, v.checksum]), [['symlink', join(bt.work, 'outside'), null]]);
  const out = join(bt.home, 'restored-link');
  bt.ok(['restore', 'rel-link', '--output', out], { cwd: d });
  assert.ok(lstatSync(out).isSymbolicLink());
  assert.is(readlinkSync(out), 'target.txt');
  // Nothing under the linked directory was staged.
  const status = bt.json<{ files: { path: string }[] }>(['dir', 'status'], { cwd: d });
  assert.equal(status.files.map((f) => f.path), ['dir-link', 'rel-link', 'target.txt']);
});

test('status in each state, deletions recorded by add, deleted files shown and restorable', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 's');
  mkdirSync(d);
  for (const n of ['kept', 'changed', 'gone', 'staged-only']) writeFileSync(join(d, n), `${n} v1`);
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add', 'kept'], { cwd: d });
  bt.ok(['add', 'changed'], { cwd: d });
  bt.ok(['add', 'gone'], { cwd: d });
  bt.ok(['backup']);
  bt.ok(['add', 'staged-only'], { cwd: d });
  writeFileSync(join(d, 'changed'), 'changed v2');
  writeFileSync(join(d, 'new'), 'new');
  rmSync(join(d, 'gone'));
  const states = (extra: string[] = []) =>
    Object.fromEntries(bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status', ...extra], { cwd: d }).files.map((f) => [f.path, f.state]));
  assert.equal(states(), { changed: 'modified', gone: 'missing', kept: 'backed-up', new: 'untracked', 'staged-only': 'staged' });
  const text = bt.ok(['dir', 'status'], { cwd: d });
  assert.match(text, /staged \(1\):\n  staged-only\nmodified \(1\):\n  changed\nmissing \(1\):\n  gone\nuntracked \(1\):\n  new\nbacked up \(1\):\n  kept/);

  const add = bt.json<{ staged: number; deleted: number }>(['add'], { cwd: d });
  assert.is(add.deleted, 1);
  assert.is(add.staged, 2);
  assert.equal(states(), { changed: 'staged', kept: 'backed-up', new: 'staged', 'staged-only': 'staged' });
  assert.equal(states(['--deleted']), { changed: 'staged', gone: 'deleted', kept: 'backed-up', new: 'staged', 'staged-only': 'staged' });
  bt.ok(['backup']);
  const log = bt.json<{ deleted: boolean; versions: unknown[] }>(['log', 'gone'], { cwd: d });
  assert.is(log.deleted, true);
  assert.is(log.versions.length, 1);
  const out = join(bt.home, 'gone-restored');
  bt.ok(['restore', 'gone', '--output', out], { cwd: d });
  assert.is(readFileSync(out, 'utf8'), 'gone v1');
  // A backed-up file an ignore rule leaves out now: listed as such, not left out of the status silently.
  writeFileSync(join(d, '.btignore'), 'kept\n');
  writeFileSync(join(d, 'kept'), 'kept v2, not backed up any more');
  assert.equal(states(), { '.btignore': 'untracked', changed: 'backed-up', kept: 'ignored', new: 'backed-up', 'staged-only': 'backed-up' });
  assert.match(bt.ok(['dir', 'status'], { cwd: d }), /\nignored now, changes not backed up \(1\):\n  kept\n/);
});

test('config init --force keeps the base directory of the config it replaces; BT_BASE_DIR elsewhere says what is left behind', () => {
  const bt = new BtHome();
  const alt = join(bt.home, 'alt');
  bt.ok(['config', 'init'], { env: { BT_BASE_DIR: alt } });
  const d = join(bt.work, 'docs');
  mkdirSync(d);
  writeFileSync(join(d, 'a'), 'kept history');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  bt.ok(['config', 'init', '--force']);
  assert.is(bt.json<{ base_dir: string }>(['config', 'list']).base_dir, alt);
  assert.is(bt.json<{ versions: unknown[] }>(['log', 'a'], { cwd: d }).versions.length, 1);
  // Its vault lost and set up anew by config init --force: that new vault is this host's from then on.
  rmSync(join(alt, 'vault'), { recursive: true });
  bt.ok(['config', 'init', '--force']);
  writeFileSync(join(d, 'b'), 'after the new vault');
  bt.ok(['add'], { cwd: d });
  const b = bt.run(['backup']);
  assert.is(b.code, 0, b.stderr);
  const other = join(bt.home, 'other');
  const moved = bt.ok(['config', 'init', '--force'], { env: { BT_BASE_DIR: other } });
  assert.match(moved, new RegExp(`\nnote: the replaced config's database ${join(alt, 'data/bt.db')} holds a journal this config does not use; to go on with it, set base_dir \\(and the directories under it\\) back in `));
});

test('errors: each says what was wrong and what to do, with its exit code', () => {
  const bt = new BtHome();
  let r = bt.run(['dir', 'init']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /^bt: error: no config at .*bt\.toml; run `bt config init` first\n$/);
  bt.init();
  r = bt.run(['config', 'init']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /a config already exists at .*; use --force to replace it \(the host id and the base directory are kept\)/);
  const before = bt.json<{ host_id: string }>(['config', 'list']).host_id;
  bt.ok(['config', 'init', '--force']);
  assert.is(bt.json<{ host_id: string }>(['config', 'list']).host_id, before);

  const d = join(bt.work, 'e');
  mkdirSync(d);
  writeFileSync(join(d, 'f'), 'x');
  r = bt.run(['add'], { cwd: d });
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`${d} is not inside a tracked directory; run \`bt dir init\``));
  bt.ok(['dir', 'init'], { cwd: d });
  // Once something is tracked, a path outside it is answered with what is tracked (after a recovery on a new
  // machine, the old machine's paths).
  const outside = join(bt.work, 'elsewhere', 'f');
  for (const args of [['restore', outside], ['add', join(bt.work, 'elsewhere')]]) {
    r = bt.run(args, { cwd: d });
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stderr, `bt: error: ${args[1]} is not inside a tracked directory; tracked here: ${d}; or run \`bt dir init\` in the directory you want to back up\n`);
  }
  r = bt.run(['add', 'nope'], { cwd: d });
  assert.is(r.code, 1);
  assert.match(r.stderr, /no such file or directory: .*\/nope/);
  r = bt.run(['log', 'f'], { cwd: d });
  assert.is(r.code, 1);
  assert.match(r.stderr, /f has no backup history; stage it with `bt add`/);
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  r = bt.run(['restore', 'f', '--version', '3'], { cwd: d });
  assert.is(r.code, 1);
  assert.match(r.stderr, /has no version 3; it has versions 1 to 1/);
  r = bt.run(['restore', 'f', '--version', 'two'], { cwd: d });
  assert.is(r.code, 2);
  assert.is(r.stderr, 'bt: error: bt restore: option --version: expected a whole number, got "two"; see `bt restore --help`\n');
  r = bt.run(['restore', 'f', '--content-only', '--content-only'], { cwd: d });
  assert.is(r.code, 2);
  assert.match(r.stderr, /^bt: error: bt restore: option --content-only: expected a flag/);
  r = bt.run(['restore', 'f', '--deleted'], { cwd: d });
  assert.is(r.code, 2);
  assert.is(r.stderr, 'bt: error: --deleted is for a directory restore; a deleted file restores without it\n');
  r = bt.run(['restore', 'f', '--version', '1', '--at', '2020-01-01'], { cwd: d });
  assert.is(r.code, 2);
  r = bt.run(['restore', 'f', '--at', '2001-01-01'], { cwd: d });
  assert.is(r.code, 1);
  assert.match(r.stderr, /has no version as old as 2001-01-01/);
  r = bt.run(['restore', 'f', '--checksum', '0000'], { cwd: d });
  assert.is(r.code, 1);
  assert.match(r.stderr, /has no version with checksum 0000/);
  // A path bt knows nothing of is not taken for a directory; a directory is not taken for a file.
  r = bt.run(['restore', 'nothere.txt'], { cwd: d });
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: ${join(d, 'nothere.txt')} has no backup history; stage it with \`bt add\` and store it with \`bt backup\`\n`);
  mkdirSync(join(d, 'sub'));
  writeFileSync(join(d, 'sub', 'g'), 'g');
  bt.ok(['add'], { cwd: d });
  r = bt.run(['log', 'sub'], { cwd: d });
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: ${join(d, 'sub')} is a directory, not a file; name a file in it (\`bt dir status\` lists them)\n`);
  r = bt.run(['restore', 'sub'], { cwd: d });
  assert.is(r.code, 2);
  assert.match(r.stderr, /sub is a directory: restoring it needs --output DIR/);
  r = bt.run(['frobnicate']);
  assert.is(r.code, 2);
  assert.match(r.stderr, /unknown command "frobnicate"/);
  r = bt.run(['add', '--bogus'], { cwd: d });
  assert.is(r.code, 2);
  assert.is(r.stderr, "bt: error: Unknown option '--bogus'; see `bt add --help`\n");
  r = bt.run(['add', '--dry-run'], { cwd: d });
  assert.is(r.code, 2);
  assert.is(r.stderr, "bt: error: Unknown option '--dry-run'; see `bt add --help`\n");
  r = bt.run(['backup', d]);
  assert.is(r.code, 2);
  assert.is(r.stderr, `bt: error: bt backup takes no arguments (got '${d}'); it stores everything staged, for every tracked directory; stage a path with \`bt add PATH\` first\n`);
  // A glob the shell expanded into several paths, for a command of one path: said so.
  r = bt.run(['add', 'a.md', 'b.md'], { cwd: d });
  assert.is(r.code, 2);
  assert.is(r.stderr, "bt: error: bt add takes one path (more were given: 'b.md'); give one path (a directory stands for everything under it), or run it once per path\n");
  for (const [typed, meant] of [['status', 'bt dir status'], ['constructor', null]] as const) {
    r = bt.run([typed]);
    assert.is(r.code, 2);
    assert.is(r.stderr, `bt: error: unknown command "${typed}"; ${meant ? `did you mean ${meant}?` : 'see `bt --help`'}\n`);
  }
  r = bt.run(['restore', 'f', '--force=yes'], { cwd: d });
  assert.is(r.code, 2);
  assert.is(r.stderr, 'bt: error: bt restore: option --force takes no value (got "yes"); write --force alone; see `bt restore --help`\n');
  // The top-level help lists -v, which bt answers before loading any command.
  const help = bt.run(['--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /\nOptions:\n  -h, --help     Display this message\n  -v, --version  Display the version number\n/);
  assert.is(bt.run(['-v']).stdout, bt.run(['--version']).stdout);
  assert.match(bt.run(['--version']).stdout, /^bt \d+\.\d+\.\d+\n$/);
  r = bt.run(['restore', 'f', '--json', '--version', '9'], { cwd: d });
  assert.is(r.code, 1);
  assert.equal(JSON.parse(r.stdout).error.exit_code, 1);

  // A malformed config names the file and the line; a wrong type names the key.
  const cfg = join(bt.home, '.config/bt.toml');
  const good = readFileSync(cfg, 'utf8');
  writeFileSync(cfg, `${good}\n[broken\n`);
  r = bt.run(['config', 'list']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /config .*bt\.toml line \d+, column \d+: /);
  writeFileSync(cfg, good.replace(/concurrency = \d+/, 'concurrency = "many"'));
  r = bt.run(['config', 'list']);
  assert.is(r.code, 1);
  assert.match(r.stderr, /config .*bt\.toml: backup\.concurrency: expected non-negative integer, got "many"/);
  // A misspelt key is named (not ignored, not reported as the missing one); a vault of an unknown type says which types exist.
  writeFileSync(cfg, good.replace(/concurrency = (\d+)/, 'concurency = $1'));
  r = bt.run(['config', 'list']);
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: config ${cfg}: unknown key backup.concurency; the keys there are concurrency\n`);
  writeFileSync(cfg, good.replace('type = "fs"', 'type = "ftp"'));
  r = bt.run(['config', 'list']);
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: config ${cfg}: vaults.0.type: expected "fs" or "s3", got "ftp"; fix that key in the file\n`);
  // A value where a table belongs is a wrong type, not a table of unknown keys "0", "1"...
  writeFileSync(cfg, `vaults = ["x"]\n${good.slice(0, good.indexOf('[[vaults]]'))}`);
  r = bt.run(['config', 'list']);
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: config ${cfg}: vaults.0: expected a [[vaults]] table, got "x"; fix that key in the file\n`);
  writeFileSync(cfg, `fs = ["x"]\n${good.replace(/\[fs\]\nignore = .*\n/, '')}`);
  r = bt.run(['config', 'list']);
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: config ${cfg}: fs: expected a [fs] table, got ["x"]; fix that key in the file\n`);
  writeFileSync(cfg, good);
  // BT_CONFIG naming a directory, and a time window that is empty by construction.
  const dirAsConfig = join(bt.home, 'cfgdir');
  mkdirSync(dirAsConfig);
  for (const args of [['config', 'list'], ['config', 'init', '--force']]) {
    r = bt.run(args, { env: { BT_CONFIG: dirAsConfig } });
    assert.is(r.code, 1, args.join(' '));
    assert.match(r.stderr, new RegExp(`^bt: error: the config ${dirAsConfig} is a directory; point BT_CONFIG at a file`));
  }
  assert.equal(readdirSync(bt.home).filter((n) => n.startsWith('cfgdir.tmp')), []);
  r = bt.run(['journal', '--since', '2030-01-01', '--until', '2020-01-01']);
  assert.is(r.code, 2);
  assert.is(r.stderr, 'bt: error: --since 2030-01-01 is after --until 2020-01-01; swap them\n');
  assert.ok(existsSync(cfg));
});

test('hosts: this host\'s journal in the vault, with --vault NAME and --vault=NAME; an unknown name is one line', () => {
  const bt = new BtHome().init();
  backedUpDir(bt, { f: 'x' }, 'h');
  const hostId = bt.json<{ host_id: string }>(['config', 'list']).host_id;
  for (const args of [['hosts'], ['hosts', '--vault', 'local'], ['hosts', '--vault=local']]) {
    const out = bt.json<{ vault: string; hosts: { host: string; events: number; this_host: boolean }[] }>(args);
    assert.is(out.vault, 'local', args.join(' '));
    assert.equal(out.hosts.map((h) => [h.host, h.events, h.this_host]), [[hostId, 4, true]], args.join(' '));
  }
  const r = bt.run(['hosts', '--vault', 'elsewhere']);
  assert.is(r.code, 1);
  assert.is(r.stderr, 'bt: error: no vault named "elsewhere" (configured: local); see `bt config list`\n');
});

test('a second add stages nothing unchanged; a chmod alone is a change (mode and ctime)', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'u');
  mkdirSync(d);
  for (let i = 0; i < 20; i++) writeFileSync(join(d, `f${i}`), `file ${i}`);
  bt.ok(['dir', 'init'], { cwd: d });
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, 20);
  bt.ok(['backup']);
  assert.equal(bt.json<{ staged: number; unchanged: number }>(['add'], { cwd: d }), { directory: d, staged: 0, staged_bytes: 0, unchanged: 20, deleted: 0, directories: 0, skipped: [], passed_over: [] } as never);
  chmodSync(join(d, 'f3'), 0o640);
  const again = bt.json<{ staged: number; unchanged: number }>(['add'], { cwd: d });
  assert.is(again.staged, 1);
  assert.is(again.unchanged, 19);
  bt.ok(['backup']);
  const log = bt.json<{ versions: { changes: string[] }[] }>(['log', 'f3'], { cwd: d });
  assert.ok(log.versions[0]!.changes.includes('mode 644 -> 640'));
  assert.not.ok(log.versions[0]!.changes.includes('content'));
  assert.is(vaultObjects(bt.vault).length, 20);
});

test('a tree of several pages of tracked files: deletions, changes and new files anywhere in it are found once', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'pages');
  // 2,400 files (the scan reads tracked files 1,000 at a time), names that sort around '/', and one beyond U+FFFF.
  const names: string[] = [];
  for (const sub of ['a', 'a b', 'a.b', 'a0', 'z']) {
    for (let i = 0; i < 480; i++) names.push(sub === 'a b' || sub === 'a.b' ? `${sub}-${i}` : `${sub}/f${i}`);
  }
  names.push('\u{1f600}', '\uff61');
  for (const n of names) {
    mkdirSync(join(d, n, '..'), { recursive: true });
    writeFileSync(join(d, n), n);
  }
  bt.ok(['dir', 'init'], { cwd: d });
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, names.length);
  bt.ok(['backup']);
  // One deletion and one change on each page, and a new file in the middle.
  for (const n of ['a/f3', 'a.b-100', 'z/f479', '\u{1f600}']) rmSync(join(d, n));
  for (const n of ['a/f400', 'a0/f7', 'z/f2']) writeFileSync(join(d, n), `changed ${n}`);
  writeFileSync(join(d, 'a0/new'), 'new');
  // Status reads the same pages beside its walk: every file once, in its state, missing ones on every page.
  const before = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: d }).files;
  assert.is(before.length, names.length + 1);
  assert.is(new Set(before.map((f) => f.path)).size, before.length);
  const inState = (files: { path: string; state: string }[], state: string): string[] => files.filter((f) => f.state === state).map((f) => f.path).sort();
  assert.equal(inState(before, 'missing'), ['\u{1f600}', 'a.b-100', 'a/f3', 'z/f479'].sort());
  assert.equal(inState(before, 'modified'), ['a/f400', 'a0/f7', 'z/f2'].sort());
  assert.equal(inState(before, 'untracked'), ['a0/new']);
  assert.is(inState(before, 'backed-up').length, names.length - 7);
  const sub = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status', 'a0'], { cwd: d }).files;
  assert.is(sub.length, 481);
  assert.ok(sub.every((f) => f.path.startsWith('a0/')));
  assert.equal([inState(sub, 'modified'), inState(sub, 'untracked')], [['a0/f7'], ['a0/new']]);
  const r = bt.json<{ staged: number; unchanged: number; deleted: number }>(['add'], { cwd: d });
  assert.equal([r.staged, r.deleted, r.unchanged], [4, 4, names.length - 7]);
  assert.equal(bt.json<{ staged: number; deleted: number }>(['add'], { cwd: d }), { directory: d, staged: 0, staged_bytes: 0, unchanged: names.length - 3, deleted: 0, directories: 0, skipped: [], passed_over: [] } as never);
  const status = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status', '--deleted'], { cwd: d }).files;
  assert.equal(status.filter((f) => f.state === 'deleted').map((f) => f.path).sort(), ['\u{1f600}', 'a.b-100', 'a/f3', 'z/f479'].sort());
});

test('a file replaced by a directory of the same name is recorded deleted; the tree restores without a clash', () => {
  const bt = new BtHome().init();
  const d = backedUpDir(bt, { a: 'a file' }, 'swap');
  rmSync(join(d, 'a'));
  mkdirSync(join(d, 'a'));
  writeFileSync(join(d, 'a/x'), 'inside');
  const states = (): Record<string, string> =>
    Object.fromEntries(bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status', '--deleted'], { cwd: d }).files.map((f) => [f.path, f.state]));
  assert.equal(states(), { a: 'missing', 'a/x': 'untracked' });
  const r = bt.json<{ staged: number; deleted: number }>(['add'], { cwd: d });
  assert.equal([r.staged, r.deleted], [1, 1]);
  bt.ok(['backup']);
  assert.equal(states(), { a: 'deleted', 'a/x': 'backed-up' });
  const out = join(bt.home, 'out');
  const restored = bt.run(['restore', d, '--output', out]);
  assert.is(restored.code, 0, restored.stderr);
  assert.is(readFileSync(join(out, 'a/x'), 'utf8'), 'inside');
});

test('bt add of a new subdirectory records its parent directory too (its mtime changed with it), as bt watch stages it', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'parent');
  mkdirSync(d);
  writeFileSync(join(d, 'a'), 'a');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  mkdirSync(join(d, 'sub'));
  writeFileSync(join(d, 'sub/f'), 'in the new directory');
  const add = bt.json<{ staged: number; directories: number }>(['add', join(d, 'sub')]);
  assert.equal([add.staged, add.directories], [1, 2]);
  assert.equal(bt.json<{ directories: unknown[] }>(['dir', 'status'], { cwd: d }).directories, []);
});

test.run();
