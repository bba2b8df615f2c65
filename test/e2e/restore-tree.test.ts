// A whole-tree restore of many small files runs on restore workers: bytes, modes and times come back
// exactly, and a file whose object is damaged in the first vault is restored from the other one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { BtHome, canRunAsNobody } from '../support/cli.js';
import { backedUpDir } from '../support/scenarios.js';
import { tempDir } from '../support/tmp.js';

const FILES = 600; // above the 256 files a worker is started for
const isRoot = process.getuid?.() === 0;
/** Owner and group of every fifth file when running as root: restored by chown; the rest are root's own. */
const OTHER = { uid: 1234, gid: 2345 };

test(`a tree of ${FILES} small files restores through the workers with bytes, modes and times intact; a damaged object comes from the other vault`, () => {
  const bt = new BtHome('bt-restore-tree').init();
  const second = join(tempDir('bt-restore-tree-second'), 'vault');
  bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  bt.ok(['config', 'vault', 'init']);
  const d = join(bt.work, 'tree');
  const expected = new Map<string, { bytes: Buffer; mode: number; mtimeMs: number; uid: number; gid: number }>();
  for (let i = 0; i < FILES; i++) {
    const rel = `d${i % 7}/sub${i % 3}/f${i}.bin`;
    const bytes = createHash('sha256').update(`file ${i}`).digest();
    const content = Buffer.concat(Array.from({ length: 1 + (i % 40) }, () => bytes));
    const path = join(d, rel);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, content);
    const mode = [0o644, 0o600, 0o755, 0o640][i % 4]!;
    if (isRoot && i % 5 === 0) chownSync(path, OTHER.uid, OTHER.gid);
    chmodSync(path, mode);
    const mtime = new Date(Date.UTC(2020, 0, 1) + i * 60_000 + 123);
    utimesSync(path, mtime, mtime);
    const st = statSync(path);
    expected.set(rel, { bytes: content, mode, mtimeMs: st.mtimeMs, uid: st.uid, gid: st.gid });
  }
  // A file named as an older bt named its temporary files: restoring f0.bin must not touch it.
  writeFileSync(join(d, 'd0/sub0/.f0.bin.bt-restore'), 'a file of its own');
  utimesSync(join(d, 'd0/sub0/.f0.bin.bt-restore'), new Date(Date.UTC(2021, 5, 1)), new Date(Date.UTC(2021, 5, 1)));
  // One file at the top of the tree: it lands directly in the output directory.
  writeFileSync(join(d, 'top.bin'), 'at the top');
  utimesSync(join(d, 'top.bin'), new Date(Date.UTC(2022, 2, 3)), new Date(Date.UTC(2022, 2, 3)));
  const top = statSync(join(d, 'top.bin'));
  expected.set('top.bin', { bytes: Buffer.from('at the top'), mode: top.mode & 0o7777, mtimeMs: top.mtimeMs, uid: top.uid, gid: top.gid });
  const own = statSync(join(d, 'd0/sub0/.f0.bin.bt-restore'));
  expected.set('d0/sub0/.f0.bin.bt-restore', { bytes: Buffer.from('a file of its own'), mode: own.mode & 0o7777, mtimeMs: own.mtimeMs, uid: own.uid, gid: own.gid });
  try {
    bt.ok(['dir', 'init'], { cwd: d });
    bt.ok(['add'], { cwd: d });
    bt.ok(['backup']);
    // Damage one object in the first vault: its checksum no longer matches.
    const victim = 'd3/sub1/f10.bin';
    const id = createHash('sha256').update(expected.get(victim)!.bytes).digest('hex');
    const object = join(bt.vault, 'content', id.slice(0, 2), id);
    chmodSync(object, 0o600);
    writeFileSync(object, 'damaged');
    // And one that is right but longer than its content: not that content either.
    const longer = 'd5/sub2/f26.bin';
    const longerId = createHash('sha256').update(expected.get(longer)!.bytes).digest('hex');
    const longerObject = join(bt.vault, 'content', longerId.slice(0, 2), longerId);
    chmodSync(longerObject, 0o600);
    appendFileSync(longerObject, 'x');

    // Restored (as root) into an output that is a link to a setgid directory of another group, whose d0/sub0
    // exists already, setgid and of that group too: a new file there takes that group, so root's own files
    // need their chown as much as the others do (the link's own group is root's: it must not count).
    const out = join(bt.home, 'restored');
    const real = join(bt.home, 'restored-real');
    const shared = join(real, 'd0/sub0');
    mkdirSync(shared, { recursive: true });
    symlinkSync(real, out);
    if (isRoot) {
      for (const dir of [real, shared]) {
        chownSync(dir, 0, OTHER.gid);
        chmodSync(dir, 0o2775);
      }
    }

    const r = bt.run(['restore', '.', '--output', out], { cwd: d });
    assert.is(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, new RegExp(`restored ${FILES + 2} file`));
    for (const [rel, e] of expected) {
      const path = join(out, rel);
      assert.ok(readFileSync(path).equals(e.bytes), `${rel}: bytes`);
      const st = statSync(path);
      assert.is(st.mode & 0o7777, e.mode, `${rel}: mode`);
      // To the microsecond: libuv sets times no finer (what Node set here is whole microseconds too).
      assert.is(st.mtimeMs, e.mtimeMs, `${rel}: mtime`);
      assert.is(`${st.uid}:${st.gid}`, `${e.uid}:${e.gid}`, `${rel}: owner`);
    }
    if (isRoot) {
      assert.is(statSync(join(out, 'd0/sub0/f0.bin')).uid, OTHER.uid, 'the test covers a chown');
      assert.is(statSync(join(out, 'd0/sub0/f21.bin')).gid, 0, 'the test covers a file of root in the setgid directory');
      assert.is(statSync(join(out, 'top.bin')).gid, 0, 'the test covers a file of root in the linked setgid output');
    }
    // An existing file is not overwritten without --force, and says so.
    const again = bt.run(['restore', '.', '--output', out], { cwd: d });
    assert.is.not(again.code, 0);
    assert.match(again.stdout + again.stderr, /already exists; use --force to overwrite/);
    const forced = bt.run(['restore', '.', '--output', out, '--force'], { cwd: d });
    assert.is(forced.code, 0, forced.stderr);
    assert.ok(readFileSync(join(out, 'd0/sub0/f0.bin')).equals(expected.get('d0/sub0/f0.bin')!.bytes));
    assert.equal(readdirSync(join(out, 'd0/sub0')).filter((n) => n.endsWith('.bt-restore')), ['.f0.bin.bt-restore'], 'no temporary file left');
  } finally {
    rmSync(d, { recursive: true, force: true });
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('names up to the filesystem limit restore (file, tree, large, fallback); a default name too long says so', () => {
  const bt = new BtHome('bt-restore-long').init();
  const d = join(bt.work, 'long');
  mkdirSync(d);
  const ascii = `${'n'.repeat(251)}.txt`; // 255 bytes
  const cjk = '日'.repeat(85); // 255 bytes in UTF-8
  const large = `${'L'.repeat(250)}.bin`; // stored chunked, restored through the vault's own temporary
  const big = Buffer.alloc(9 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE((i * 2654435761) >>> 0, i);
  writeFileSync(join(d, ascii), 'ascii');
  writeFileSync(join(d, cjk), 'cjk');
  writeFileSync(join(d, large), big);
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  const out = join(bt.work, 'out');
  const tree = bt.run(['restore', '.', '--output', out], { cwd: d });
  assert.is(tree.code, 0, tree.stdout + tree.stderr);
  assert.is(readFileSync(join(out, ascii), 'utf8'), 'ascii');
  assert.is(readFileSync(join(out, cjk), 'utf8'), 'cjk');
  assert.ok(readFileSync(join(out, large)).equals(big));
  assert.equal(readdirSync(out).filter((n) => n.startsWith('.')), [], 'no temporaries left');
  // One file at a time (no worker: the general path).
  const one = join(bt.work, 'one');
  mkdirSync(one);
  for (const name of [ascii, cjk]) {
    const r = bt.run(['restore', name, '--output', one], { cwd: d });
    assert.is(r.code, 0, r.stdout + r.stderr);
  }
  assert.is(readFileSync(join(one, cjk), 'utf8'), 'cjk');
  // Beside the file as NAME.<checksum>: 65 bytes more than the filesystem takes; one line, exit 1.
  const beside = bt.run(['restore', ascii], { cwd: d });
  assert.is(beside.code, 1);
  assert.match(beside.stderr, /^bt: error: a name is too long for the filesystem: .*; choose a shorter path \(for a restore: --output\)\n$/);
});

test('a file replaced by a directory of the same name: the name restores the directory; --version or an earlier --at, the file', () => {
  const bt = new BtHome('bt-restore-replaced').init();
  const d = join(bt.work, 'r');
  mkdirSync(d);
  writeFileSync(join(d, 'x'), 'oldfile');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  const asFile = new Date().toISOString();
  spawnSync('sleep', ['0.05']);
  rmSync(join(d, 'x'));
  mkdirSync(join(d, 'x'));
  writeFileSync(join(d, 'x', 'one'), '1');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  const tree = join(bt.work, 'tree');
  const r = bt.run(['restore', 'x', '--output', tree], { cwd: d });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(readFileSync(join(tree, 'one'), 'utf8'), '1');
  const old = join(bt.work, 'old');
  bt.ok(['restore', 'x', '--version', '1', '--output', old], { cwd: d });
  assert.is(readFileSync(old, 'utf8'), 'oldfile');
  const then = join(bt.work, 'then');
  bt.ok(['restore', 'x', '--at', asFile, '--output', then], { cwd: d });
  assert.is(readFileSync(then, 'utf8'), 'oldfile');
});

test('directories a tree restore makes get their recorded mode, owner and mtime, as of --at too; existing ones and --content-only are left', () => {
  const bt = new BtHome('bt-restore-dir-meta').init();
  const d = join(bt.work, 'm');
  const at = (rel: string): string => (rel === '' ? d : join(d, rel));
  const setDir = (rel: string, mode: number, iso: string): void => {
    chmodSync(at(rel), mode);
    utimesSync(at(rel), new Date(iso), new Date(iso));
  };
  for (const rel of ['priv/inner', 'ro', 'plain']) mkdirSync(join(d, rel), { recursive: true });
  writeFileSync(join(d, 'priv/inner/secret'), 's');
  writeFileSync(join(d, 'ro/r'), 'r');
  writeFileSync(join(d, 'plain/p'), 'p');
  if (isRoot) chownSync(join(d, 'priv'), OTHER.uid, OTHER.gid);
  setDir('priv/inner', 0o750, '2019-05-06T07:08:09.123456Z');
  setDir('priv', 0o700, '2020-01-01T00:00:00.5Z');
  setDir('ro', 0o555, '2018-02-03T04:05:06Z');
  setDir('', 0o751, '2017-01-01T00:00:00Z');
  // Microseconds: what utimes can set.
  const micros = (p: string): bigint => statSync(p, { bigint: true }).mtimeNs / 1000n;
  const recorded = (rels: readonly string[]): Map<string, { mode: number; us: bigint; uid: number; gid: number }> =>
    new Map(rels.map((rel) => {
      const st = statSync(at(rel));
      return [rel, { mode: st.mode & 0o7777, us: micros(at(rel)), uid: st.uid, gid: st.gid }];
    }));
  const dirs = ['', 'priv', 'priv/inner', 'ro', 'plain'];
  try {
    bt.ok(['dir', 'init'], { cwd: d });
    bt.ok(['add'], { cwd: d });
    bt.ok(['backup']);
    const first = recorded(dirs);
    const between = new Date().toISOString();
    spawnSync('sleep', ['0.05']);
    // An unchanged tree records nothing new; a changed directory is recorded again.
    const events = (): number => bt.ok(['journal']).trim().split('\n').length;
    const before = events();
    bt.ok(['add'], { cwd: d });
    assert.is(events(), before, 'nothing changed: no event');
    setDir('priv', 0o711, '2021-03-04T05:06:07Z');
    bt.ok(['add'], { cwd: d });
    assert.is(events(), before + 1, 'one directory changed: one event');
    bt.ok(['backup']);
    const second = recorded(dirs);

    const check = (out: string, want: ReturnType<typeof recorded>, label: string): void => {
      for (const [rel, w] of want) {
        const p = rel === '' ? out : join(out, rel);
        const st = statSync(p);
        assert.is((st.mode & 0o7777).toString(8), w.mode.toString(8), `${label} ${rel || '.'} mode`);
        assert.is(micros(p), w.us, `${label} ${rel || '.'} mtime`);
        if (isRoot) assert.equal([st.uid, st.gid], [w.uid, w.gid], `${label} ${rel || '.'} owner`);
      }
    };
    const now = join(bt.work, 'now');
    bt.ok(['restore', '.', '--output', now], { cwd: d });
    check(now, second, 'now');
    assert.is(readFileSync(join(now, 'priv/inner/secret'), 'utf8'), 's');
    assert.is(second.get('priv')!.mode, 0o711);
    const then = join(bt.work, 'then');
    bt.ok(['restore', '.', '--output', then, '--at', between], { cwd: d });
    check(then, first, 'then');
    assert.is(first.get('priv')!.mode, 0o700);

    // A subdirectory restored on its own: the output made for it is that directory.
    const sub = join(bt.work, 'sub');
    bt.ok(['restore', 'priv', '--output', sub], { cwd: d });
    check(sub, new Map([['', second.get('priv')!], ['inner', second.get('priv/inner')!]]), 'sub');

    // Directories that were there are not changed; the ones the restore makes are.
    const existing = join(bt.work, 'existing');
    mkdirSync(join(existing, 'priv'), { recursive: true });
    chmodSync(existing, 0o775);
    chmodSync(join(existing, 'priv'), 0o777);
    bt.ok(['restore', '.', '--output', existing], { cwd: d });
    assert.is(statSync(existing).mode & 0o7777, 0o775);
    assert.is(statSync(join(existing, 'priv')).mode & 0o7777, 0o777);
    check(existing, new Map([['priv/inner', second.get('priv/inner')!], ['ro', second.get('ro')!]]), 'existing');
    // With --force they are (a restore interrupted before its directories' metadata, run again, finishes
    // it), but never the output itself (it may be /tmp).
    chmodSync(join(existing, 'ro'), 0o755);
    chmodSync(existing, 0o1777);
    bt.ok(['restore', '.', '--output', existing, '--force'], { cwd: d });
    check(existing, new Map([...second].filter(([rel]) => rel !== '')), 'existing, --force');
    assert.is(statSync(existing).mode & 0o7777, 0o1777);

    const bare = join(bt.work, 'bare');
    bt.ok(['restore', '.', '--output', bare, '--content-only'], { cwd: d });
    const umask = process.umask();
    assert.is(statSync(join(bare, 'priv')).mode & 0o7777, 0o777 & ~umask);
    assert.is(statSync(join(bare, 'ro')).mode & 0o7777, 0o777 & ~umask);
  } finally {
    // Read-only directories of the source and the outputs must not stop the temporary tree's removal.
    for (const base of [d, ...['now', 'then', 'existing'].map((o) => join(bt.work, o))]) {
      try {
        chmodSync(join(base, 'ro'), 0o755);
      } catch {
        /* not made */
      }
    }
  }
});

test('empty directories come back; a removed one only as of before its removal; an ignored start records none', () => {
  const bt = new BtHome('bt-restore-empty-dirs').init();
  const d = join(bt.work, 'e');
  for (const rel of ['keep/empty', 'gone/inner', 'node_modules/pkg']) mkdirSync(join(d, rel), { recursive: true });
  writeFileSync(join(d, 'f'), 'f');
  chmodSync(join(d, 'keep/empty'), 0o705);
  // A whole second, so that putting it back below leaves the recorded key (to the nanosecond) as it was.
  const keepTime = new Date(Date.UTC(2021, 5, 1));
  utimesSync(join(d, 'keep'), keepTime, keepTime);
  bt.ok(['dir', 'init'], { cwd: d });
  type Status = { directories: { path: string; state: string }[] };
  const dirStatus = (): string => bt.json<Status>(['dir', 'status'], { cwd: d }).directories.map((x) => `${x.state} ${x.path}`).join(', ');
  // `bt dir status` shows what `bt add` would record, and records nothing itself.
  assert.is(dirStatus(), 'new ., new gone, new gone/inner, new keep, new keep/empty');
  assert.is(dirStatus(), 'new ., new gone, new gone/inner, new keep, new keep/empty');
  const first = bt.json<{ staged: number; directories: number }>(['add'], { cwd: d });
  // The tracked directory, keep, keep/empty, gone, gone/inner: node_modules is ignored by default.
  assert.equal([first.staged, first.directories], [1, 5]);
  bt.ok(['backup']);
  const before = new Date().toISOString();
  spawnSync('sleep', ['0.05']);
  assert.is(dirStatus(), '');
  rmSync(join(d, 'gone'), { recursive: true });
  chmodSync(join(d, 'keep'), 0o711);
  mkdirSync(join(d, 'keep/new'));
  assert.is(
    bt.run(['dir', 'status'], { cwd: d }).stdout,
    `directory ${d}\nbacked up (1):\n  f\ndirectories new (1):\n  keep/new/\ndirectories changed (2):\n  ./\n  keep/\ndirectories removed (2):\n  gone/\n  gone/inner/\n`,
  );
  // Asked for keep, the tracked directory is shown too: `bt add keep` records its parent (its mtime changed).
  assert.is(bt.json<Status>(['dir', 'status', 'keep'], { cwd: d }).directories.map((x) => `${x.state} ${x.path}`).join(', '), 'changed ., changed keep, new keep/new');
  rmSync(join(d, 'keep/new'), { recursive: true });
  chmodSync(join(d, 'keep'), 0o755);
  utimesSync(join(d, 'keep'), keepTime, keepTime);
  const second = bt.run(['add'], { cwd: d });
  // The tracked directory's mtime, and two removals.
  assert.is(second.stdout, 'staged 0 file(s), 0 B; 1 unchanged; 0 deleted; 3 directory change(s)\nrun `bt backup` to record the changes in the vaults\n');
  const events = (): number => bt.json<{ events: unknown[] }>(['journal']).events.length;
  const n = events();
  // Named on purpose, an ignored directory is walked (as before) but its directories are not the tree's.
  bt.ok(['add', 'node_modules'], { cwd: d });
  assert.is(events(), n);
  bt.ok(['backup']);

  const now = join(bt.work, 'now');
  bt.ok(['restore', '.', '--output', now], { cwd: d });
  assert.equal(readdirSync(now).sort(), ['f', 'keep']);
  assert.equal(readdirSync(join(now, 'keep')), ['empty']);
  assert.is(statSync(join(now, 'keep/empty')).mode & 0o7777, 0o705);
  const then = join(bt.work, 'then');
  bt.ok(['restore', '.', '--output', then, '--at', before], { cwd: d });
  assert.equal(readdirSync(then).sort(), ['f', 'gone', 'keep']);
  assert.equal(readdirSync(join(then, 'gone')), ['inner']);
  // Something in the way of empty directories: the files asked for are restored (exit 0), with one warning
  // for the directory in the way and none for those below it.
  const blocked = join(bt.work, 'blocked');
  mkdirSync(blocked);
  writeFileSync(join(blocked, 'keep'), 'a file where a directory goes');
  const r = bt.run(['restore', '.', '--output', blocked], { cwd: d });
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.is(r.stderr, `bt: keep/: directory not made: ${join(blocked, 'keep')} is not a directory\n`);
  assert.is(readFileSync(join(blocked, 'f'), 'utf8'), 'f');
});

test('a directory replaced by a symlink is removed with all below it; a file added alone records its directory; --deleted over an empty directory', () => {
  const bt = new BtHome('bt-restore-dir-replaced').init();
  const d = join(bt.work, 's');
  mkdirSync(join(d, 'x/y'), { recursive: true });
  mkdirSync(join(d, 'loop/inner'), { recursive: true });
  mkdirSync(join(bt.work, 'other/y'), { recursive: true });
  writeFileSync(join(d, 'f'), '1');
  writeFileSync(join(d, 'was-file'), 'a file, then an empty directory');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  // x becomes a link to a directory with the same layout, loop a link to itself (lstat of loop/inner: ELOOP).
  rmSync(join(d, 'x'), { recursive: true });
  symlinkSync(join(bt.work, 'other'), join(d, 'x'));
  rmSync(join(d, 'loop'), { recursive: true });
  symlinkSync('loop', join(d, 'loop'));
  rmSync(join(d, 'was-file'));
  mkdirSync(join(d, 'was-file'));
  writeFileSync(join(d, 'f'), '2');
  const r = bt.run(['add', '--json'], { cwd: d });
  assert.is(r.code, 0, r.stderr);
  assert.is((JSON.parse(r.stdout) as { staged: number }).staged, 3, 'f, and the links x and loop');
  const removed = bt.json<{ events: { type: string; summary: string }[] }>(['journal']).events
    .filter((e) => e.type === 'DirectoryRemoved').map((e) => e.summary.slice(`directory ${d}/`.length)).sort();
  assert.equal(removed, ['loop removed', 'loop/inner removed', 'x removed', 'x/y removed']);
  bt.ok(['backup']);
  const out = join(bt.work, 'out');
  const restored = bt.run(['restore', '.', '--output', out], { cwd: d });
  assert.is(restored.code, 0, restored.stderr);
  assert.is(restored.stderr, '');
  assert.equal(readdirSync(out).sort(), ['f', 'loop', 'was-file', 'x']);
  // With --deleted, the deleted file was-file and the empty directory of that name now: the file is restored,
  // the directory is a warning (exit 0).
  const withDeleted = join(bt.work, 'with-deleted');
  const rd = bt.run(['restore', '.', '--output', withDeleted, '--deleted'], { cwd: d });
  assert.is(rd.code, 0, rd.stderr);
  assert.is(readFileSync(join(withDeleted, 'was-file'), 'utf8'), 'a file, then an empty directory');
  assert.is(rd.stderr, `bt: was-file/: directory not made: ${join(withDeleted, 'was-file')} is not a directory\n`);

  // A file added on its own (as bt watch does) records its directory's new mtime.
  writeFileSync(join(d, 'new.txt'), 'new');
  const one = bt.json<{ staged: number; directories: number }>(['add', 'new.txt'], { cwd: d });
  assert.equal([one.staged, one.directories], [1, 1]);
  assert.is(bt.json<{ directories: number }>(['add'], { cwd: d }).directories, 0, 'the full scan finds it recorded');
});

test('a tree of empty directories alone restores; a file added alone under a removed directory removes all below it', () => {
  const bt = new BtHome('bt-restore-only-dirs').init();
  const d = join(bt.work, 'o');
  mkdirSync(join(d, 'e1/e2'), { recursive: true });
  bt.ok(['dir', 'init'], { cwd: d });
  assert.is(bt.json<{ directories: number }>(['add'], { cwd: d }).directories, 3);
  bt.ok(['backup']);
  const all = join(bt.work, 'all');
  bt.ok(['restore', '.', '--output', all], { cwd: d });
  assert.equal(readdirSync(all), ['e1']);
  assert.equal(readdirSync(join(all, 'e1')), ['e2']);
  const sub = join(bt.work, 'sub');
  bt.ok(['restore', 'e1', '--output', sub], { cwd: d });
  assert.equal(readdirSync(sub), ['e2']);

  mkdirSync(join(d, 'a/b/e/g'), { recursive: true });
  writeFileSync(join(d, 'a/b/f'), '1');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  rmSync(join(d, 'a/b'), { recursive: true });
  // As bt watch stages a deleted file: the file's directory is gone, and so is all recorded below it.
  bt.ok(['add', 'a/b/f'], { cwd: d });
  const removed = bt.json<{ events: { type: string; summary: string }[] }>(['journal']).events
    .filter((e) => e.type === 'DirectoryRemoved').map((e) => e.summary.slice(`directory ${d}/`.length)).sort();
  assert.equal(removed, ['a/b removed', 'a/b/e removed', 'a/b/e/g removed']);
  assert.is(bt.json<{ directories: number }>(['add'], { cwd: d }).directories, 1, 'only a\'s new mtime is left for the full scan');
});

test('as a user, an empty directory whose parent in the output refuses the write is a warning naming the errno', () => {
  if (!canRunAsNobody()) {
    console.log('NOT RUN: needs root and setpriv to run bt as another user');
    return;
  }
  const bt = new BtHome('bt-restore-dir-eacces').init();
  const d = join(bt.work, 'p');
  mkdirSync(join(d, 'ro/emp'), { recursive: true });
  writeFileSync(join(d, 'f'), 'f');
  const out = join(bt.work, 'out');
  mkdirSync(join(out, 'ro'), { recursive: true });
  spawnSync('chown', ['-R', '65534:65534', bt.home]);
  chmodSync(bt.home, 0o755);
  chownSync(join(out, 'ro'), 0, 0); // root's, 0755: the user cannot make emp in it
  const asNobody = (args: string[]) => bt.asNobody(args, d);
  for (const args of [['dir', 'init'], ['add'], ['backup']]) assert.is(asNobody(args).status, 0, args.join(' '));
  const r = asNobody(['restore', '.', '--output', out]);
  assert.is(r.status, 0, r.stderr);
  assert.is(r.stderr, 'bt: ro/emp/: directory not made: cannot write into its parent (EACCES)\n');
  assert.is(readFileSync(join(out, 'f'), 'utf8'), 'f');
  // An output the user cannot write into at all: one line, not one per file.
  const closed = join(bt.work, 'closed');
  mkdirSync(closed, { mode: 0o555 });
  chownSync(closed, 65534, 65534);
  const c = asNobody(['restore', '.', '--output', closed]);
  assert.is(c.status, 1);
  assert.is(c.stderr, `bt: error: cannot write into ${closed} (EACCES); restore elsewhere with --output\n`);
  // An output to be made inside it, for a tree and for one file: the same line (it was a raw EACCES).
  const tree = asNobody(['restore', '.', '--output', join(closed, 'new')]);
  assert.is(tree.status, 1);
  assert.is(tree.stderr, `bt: error: cannot write into ${closed} (EACCES); restore elsewhere with --output\n`);
  const one = asNobody(['restore', 'f', '--output', join(closed, 'a/b/f')]);
  assert.is(one.status, 1);
  assert.is(one.stderr, `bt: error: cannot write into ${closed} (EACCES); restore elsewhere with --output\n`);
  // A file whose directory in the output refuses the write: said in those terms, not as an internal error.
  mkdirSync(join(d, 'ro/sub'));
  writeFileSync(join(d, 'ro/sub/file.txt'), 'x');
  spawnSync('chown', ['-R', '65534:65534', join(d, 'ro/sub')]);
  for (const args of [['add'], ['backup']]) assert.is(asNobody(args).status, 0, args.join(' '));
  const out2 = join(bt.work, 'out2');
  mkdirSync(join(out2, 'ro'), { recursive: true });
  chownSync(out2, 65534, 65534);
  const f = asNobody(['restore', '.', '--output', out2]);
  assert.is(f.status, 1);
  assert.ok(f.stderr.includes(`bt: ro/sub/file.txt: cannot write into ${join(out2, 'ro')} (EACCES); restore elsewhere with --output\n`), f.stderr);
  assert.not.match(f.stderr, /internal error/);
});

test('a tree restore with no vault reachable (its disk not mounted) says so in one line and writes nothing', () => {
  const bt = new BtHome('bt-restore-away').init();
  const files: Record<string, string> = {};
  for (let i = 0; i < 40; i++) files[`f${i}.txt`] = `file ${i}`;
  const d = backedUpDir(bt, files);
  renameSync(bt.vault, `${bt.vault}.away`);
  const out = join(bt.work, 'out');
  const r = bt.run(['restore', '.', '--output', out], { cwd: d });
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: no vault can be read: vault "local": ${bt.vault} is not there (is its disk mounted?); mount its disk or check its network, then restore again\n`);
  assert.not.ok(existsSync(out));
  // One file: the vault's own words, once.
  const one = bt.run(['restore', 'f1.txt', '--output', join(bt.work, 'one')], { cwd: d });
  assert.is(one.code, 1);
  assert.is(one.stderr, `bt: error: content ${createHash('sha256').update('file 1').digest('hex').slice(0, 12)} could not be read from any vault: vault "local": ${bt.vault} is not there (is its disk mounted?)\n`);
  renameSync(`${bt.vault}.away`, bt.vault);
  bt.ok(['restore', '.', '--output', out], { cwd: d });
  assert.is(readdirSync(out).length, 40);
});

test('a tree restore says how many files have a version staged but not backed up (restored as backed up, or left out)', () => {
  const bt = new BtHome('bt-restore-staged').init();
  const d = backedUpDir(bt, { 'f.txt': 'v1', 'sub/g.txt': 'g' });
  writeFileSync(join(d, 'f.txt'), 'v2, staged only');
  writeFileSync(join(d, 'new.txt'), 'never backed up');
  writeFileSync(join(d, 'sub/g.txt'), 'g2, staged only');
  bt.ok(['add'], { cwd: d });
  const out = join(bt.work, 'out');
  const r = bt.run(['restore', '.', '--output', out], { cwd: d });
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /\n3 file\(s\) have a version staged but not backed up: restored as last backed up, or left out if never backed up \(`bt backup` first to include them\)\n$/);
  assert.equal(readdirSync(out).sort(), ['f.txt', 'sub']);
  assert.is(readFileSync(join(out, 'f.txt'), 'utf8'), 'v1');
  // Below a subdirectory: only what is under it.
  const sub = bt.json<{ stagedNotBackedUp: number }>(['restore', 'sub', '--output', join(bt.work, 'sub-out')], { cwd: d });
  assert.is(sub.stagedNotBackedUp, 1);
  bt.ok(['backup']);
  const after = bt.run(['restore', '.', '--output', join(bt.work, 'out2')], { cwd: d });
  assert.not.match(after.stdout, /have a version staged/);
  assert.is(readFileSync(join(bt.work, 'out2', 'new.txt'), 'utf8'), 'never backed up');
});

test('with --deleted, a deleted file whose place is taken as of then (its directory now a file, or its name a directory) is left out and counted', async () => {
  const bt = new BtHome('bt-restore-shadow').init();
  const d = backedUpDir(bt, { 'x/a': 'in x', 'y': 'y was a file', 'k': 'kept', 'gone/old': 'deleted, no conflict' });
  await new Promise((r) => setTimeout(r, 20));
  const before = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  rmSync(join(d, 'x'), { recursive: true });
  writeFileSync(join(d, 'x'), 'x is a file now');
  rmSync(join(d, 'y'));
  mkdirSync(join(d, 'y'));
  writeFileSync(join(d, 'y', 'b'), 'y is a directory now');
  rmSync(join(d, 'gone'), { recursive: true });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  const out = join(bt.work, 'out');
  const r = bt.run(['restore', '.', '--output', out, '--deleted'], { cwd: d });
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stderr, '');
  assert.match(r.stdout, /\n2 deleted file\(s\) left out: what was there as of then has their name or that of a directory above them\n/);
  assert.is(readFileSync(join(out, 'x'), 'utf8'), 'x is a file now');
  assert.is(readFileSync(join(out, 'y', 'b'), 'utf8'), 'y is a directory now');
  assert.is(readFileSync(join(out, 'k'), 'utf8'), 'kept');
  assert.is(readFileSync(join(out, 'gone', 'old'), 'utf8'), 'deleted, no conflict');
  // As of a time before the changes nothing was deleted nor shadowed: x was a directory, y a file.
  const then = join(bt.work, 'then');
  const t = bt.run(['restore', '.', '--output', then, '--deleted', '--at', before], { cwd: d });
  assert.is(t.code, 0, t.stderr);
  assert.not.match(t.stdout, /left out/);
  assert.is(readFileSync(join(then, 'x', 'a'), 'utf8'), 'in x');
  assert.is(readFileSync(join(then, 'y'), 'utf8'), 'y was a file');
  assert.is(readFileSync(join(then, 'gone', 'old'), 'utf8'), 'deleted, no conflict');
});

test('a name that was a directory as of --at and is a file now restores the directory', async () => {
  const bt = new BtHome('bt-restore-was-dir').init();
  const d = backedUpDir(bt, { 'x/a': 'in x', 'x/b': 'also in x' });
  await new Promise((r) => setTimeout(r, 20));
  const before = new Date().toISOString();
  await new Promise((r) => setTimeout(r, 20));
  rmSync(join(d, 'x'), { recursive: true });
  writeFileSync(join(d, 'x'), 'a file now');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  const out = join(bt.work, 'q');
  const r = bt.run(['restore', 'x', '--at', before, '--output', out], { cwd: d });
  assert.is(r.code, 0, r.stderr);
  assert.equal(readdirSync(out).sort(), ['a', 'b']);
  assert.is(readFileSync(join(out, 'a'), 'utf8'), 'in x');
  // As of now it is the file.
  const now = bt.run(['restore', 'x', '--output', join(bt.work, 'x-now')], { cwd: d });
  assert.is(now.code, 0, now.stderr);
  assert.is(readFileSync(join(bt.work, 'x-now'), 'utf8'), 'a file now');
});

test("a tracked directory absorbed by its parent keeps its directories' recorded metadata under the parent", () => {
  const bt = new BtHome('bt-restore-dir-absorbed').init();
  const parent = join(bt.work, 'p');
  const child = join(parent, 'c');
  mkdirSync(join(child, 'deep'), { recursive: true });
  writeFileSync(join(child, 'deep/f'), 'f');
  chmodSync(join(child, 'deep'), 0o701);
  chmodSync(child, 0o710);
  bt.ok(['dir', 'init'], { cwd: child });
  bt.ok(['add'], { cwd: child });
  bt.ok(['backup']);
  bt.ok(['dir', 'init'], { cwd: parent });
  const out = join(bt.work, 'out');
  bt.ok(['restore', '.', '--output', out], { cwd: parent });
  assert.is((statSync(join(out, 'c')).mode & 0o7777).toString(8), '710');
  assert.is((statSync(join(out, 'c/deep')).mode & 0o7777).toString(8), '701');
  assert.is(readFileSync(join(out, 'c/deep/f'), 'utf8'), 'f');
  // `bt journal` names the absorbed directory's events by its path then, not by its id.
  const summaries = bt.json<{ events: { type: string; summary: string }[] }>(['journal']).events
    .filter((e) => e.type === 'DirectoryMetaRecorded').map((e) => e.summary.replace(/ owner .*/, ''));
  assert.equal(summaries, [`directory ${child} mode 0710`, `directory ${child}/deep mode 0701`]);
});

test.run();
