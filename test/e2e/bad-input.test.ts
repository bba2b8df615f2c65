// Bad input: odd names, unreadable files, files changing while read, loops, missing or full vaults and
// staging areas, broken databases, two bt processes at once. Each gets a clear message; nothing is lost.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BT_BIN, BtHome, canRunAsNobody } from '../support/cli.js';
import { holdHostLock } from '../support/host-lock.js';
import { listFiles, stagedCopies } from '../support/files.js';
import { backedUpDir, sha } from '../support/scenarios.js';
import { tempDir } from '../support/tmp.js';
import { restoreTmpPath } from '../../src/fs/restore-file.js';

const isRoot = process.getuid?.() === 0;

function tracked(bt: BtHome, name = 'docs'): string {
  const d = join(bt.work, name);
  mkdirSync(d, { recursive: true });
  bt.ok(['dir', 'init'], { cwd: d });
  return d;
}

test('names with spaces, newlines, non-ASCII, leading dashes and very long paths round-trip', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  const names = ['with space.txt', 'new\nline.txt', 'ünïcödé ☃ 日本.txt', '-starts-with-dash', "quote's \"and\" back\\slash"];
  for (const n of names) writeFileSync(join(d, n), `content of ${n}`);
  // A path of about 2,000 characters, in components of 200.
  let deep = d;
  for (let i = 0; i < 10; i++) deep = join(deep, `${String(i)}${'d'.repeat(199)}`);
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'leaf.txt'), 'deep');
  const add = bt.json<{ staged: number }>(['add', '.'], { cwd: d });
  assert.is(add.staged, names.length + 1);
  bt.ok(['backup']);
  // Text output escapes control characters: a name cannot start a line of its own or drive the terminal.
  const journal = bt.ok(['journal']);
  assert.ok(journal.includes(`staged ${d}/new\\nline.txt `), journal);
  assert.is(journal.split('\n').filter((l) => l !== '' && !/^ +\d+  \d{4}-/.test(l)).length, 0, journal);
  assert.ok(bt.ok(['dir', 'status'], { cwd: d }).includes('\n  new\\nline.txt\n'));
  const log = bt.json<{ versions: { size: number }[] }>(['log', join(d, 'new\nline.txt')]);
  assert.is(log.versions[0]!.size, 'content of new\nline.txt'.length);
  bt.ok(['restore', join(d, '-starts-with-dash'), '--output', join(bt.home, 'dash')]);
  assert.is(readFileSync(join(bt.home, 'dash'), 'utf8'), 'content of -starts-with-dash');
  const out = join(bt.home, 'tree');
  bt.ok(['restore', d, '--output', out]);
  assert.equal(listFiles(out), listFiles(d));
  for (const f of listFiles(d)) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(d, f))), f);
});

test('a name that is not valid UTF-8 is reported and skipped (exit 3); the rest is backed up', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'fine.txt'), 'fine');
  writeFileSync(Buffer.concat([Buffer.from(`${d}/bad-`), Buffer.from([0xff, 0xfe]), Buffer.from('.txt')]), 'bad name');
  const r = bt.run(['add', '--json'], { cwd: d });
  assert.is(r.code, 3);
  assert.match(r.stderr, /bad-\\xff\\xfe\.txt: skipped: its name is not valid UTF-8/);
  assert.is(JSON.parse(r.stdout).staged, 1);
  // dir status shows it too, as something that cannot be backed up, instead of leaving it out.
  const status = bt.run(['dir', 'status'], { cwd: d });
  assert.is(status.code, 0);
  assert.match(status.stdout, /\ncannot be backed up \(1\):\n  bad-\\xff\\xfe\.txt: skipped: its name is not valid UTF-8 \(bt cannot record such names yet; rename it\)\n/);
  assert.equal(bt.json<{ skipped: { path: string }[] }>(['dir', 'status'], { cwd: d }).skipped.map((s) => s.path), ['bad-\\xff\\xfe.txt']);
});

test('a valid name with U+FFFD beside an invalid name that decodes to it: the valid file is still backed up', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'a\uFFFD'), 'valid, first');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  writeFileSync(Buffer.concat([Buffer.from(`${d}/a`), Buffer.from([0xff])]), 'invalid');
  writeFileSync(join(d, 'a\uFFFD'), 'valid, second');
  const r = bt.run(['add', '--json'], { cwd: d });
  assert.is(r.code, 3, r.stderr);
  assert.match(r.stderr, /a\\xff: skipped: its name is not valid UTF-8/);
  assert.is(JSON.parse(r.stdout).staged, 1);
  bt.ok(['backup']);
  const log = bt.json<{ versions: { checksum: string }[] }>(['log', join(d, 'a\uFFFD')]);
  assert.equal(log.versions.map((v) => v.checksum), [sha('valid, second'), sha('valid, first')]);
});

test('a tracked directory gone or replaced is refused (nothing recorded deleted); `--` ends the options', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'a'), 'a');
  writeFileSync(join(d, '-notes.txt'), 'notes');
  // After `--`, a name with a leading dash is a path, not options.
  const added = bt.run(['add', '--json', '--', '-notes.txt'], { cwd: d });
  assert.is(added.code, 0, added.stderr);
  assert.is(JSON.parse(added.stdout).staged, 1);
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  assert.is(JSON.parse(bt.ok(['log', '--json', '--', '-notes.txt'], { cwd: d })).versions.length, 1);
  // Without `--` it is an unknown option, said with the way out (cac read `-dash` as -d -a -s -h: the help, exit 0).
  for (const name of ['-notes.txt', '-dash']) {
    const r = bt.run(['restore', name, '--output', join(bt.home, 'r')], { cwd: d });
    assert.is(r.code, 2, r.stdout);
    assert.is(r.stderr, `bt: error: bt restore: unknown option ${name}; a name that starts with "-" goes after \`--\`: bt restore -- ${name}\n`);
  }
  assert.not.ok(existsSync(join(bt.home, 'r')));
  bt.ok(['restore', '--output', join(bt.home, 'r'), '--', '-notes.txt'], { cwd: d });
  assert.is(readFileSync(join(bt.home, 'r'), 'utf8'), 'notes');
  const events = (): number => bt.json<{ events: unknown[] }>(['journal']).events.length;
  const n = events();
  renameSync(d, `${d}.moved`);
  let r = bt.run(['add', d]);
  assert.is(r.code, 1);
  assert.is(r.stderr.split('\n')[0], `bt: error: the tracked directory ${d} is gone (moved, deleted, or on a disk that is not mounted); nothing was recorded; put it back (mount the disk, or \`bt restore\` it on a new machine) and run the command again; only if it was deleted on purpose, create it empty and \`bt add\` records the deletions`);
  // Read-only, bt dir status lists what is recorded there as missing (after a recovery on a new machine, say).
  assert.equal(bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status', d]).files.map((f) => `${f.state} ${f.path}`), ['missing -notes.txt', 'missing a']);
  // A name that is not there under an existing tracked directory is still an error.
  mkdirSync(d);
  r = bt.run(['add', join(d, 'typo')]);
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: no such file or directory: ${join(d, 'typo')}\n`);
  rmSync(d, { recursive: true });
  symlinkSync(`${d}.moved`, d);
  for (const args of [['add', d], ['dir', 'status', d]]) {
    r = bt.run(args);
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stderr, `bt: error: the tracked directory ${d} is no longer a directory (a symlink is in its place); put the directory back and run the command again\n`);
  }
  assert.is(events(), n);
  rmSync(d);
  renameSync(`${d}.moved`, d);
  assert.equal(bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: d }).files.map((f) => `${f.state} ${f.path}`), ['backed-up -notes.txt', 'backed-up a']);
  // An empty argument is not the current directory.
  r = bt.run(['add', ''], { cwd: d });
  assert.is(r.code, 2);
  assert.is(r.stderr, 'bt: error: an empty path was given; name a path (`.` is the current directory)\n');
  r = bt.run(['dir', 'status', 'nosuch'], { cwd: d });
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: no such file or directory: ${join(d, 'nosuch')}\n`);
});

test('a tracked directory on a disk that is not mounted (its empty mount point left) is refused, not read as every file deleted', () => {
  const bt = new BtHome().init();
  const disk = join(bt.work, 'disk');
  mkdirSync(disk);
  if (!isRoot || spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', disk]).status !== 0) {
    console.log('NOT RUN: needs root and mount');
    return;
  }
  try {
    writeFileSync(join(disk, 'a'), 'a');
    bt.ok(['dir', 'init', disk]);
    bt.ok(['add', disk]);
    bt.ok(['backup']);
  } finally {
    spawnSync('umount', [disk]);
  }
  const events = bt.json<{ events: unknown[] }>(['journal']).events.length;
  for (const target of [disk, join(disk, 'a')]) {
    const r = bt.run(['add', target]);
    assert.is(r.code, 1, target);
    assert.is(r.stderr, `bt: error: the tracked directory ${disk} is empty and on another filesystem than its backed-up files (a disk that is not mounted?); nothing was recorded; mount the disk it lives on and run the command again\n`);
  }
  assert.is(bt.json<{ events: unknown[] }>(['journal']).events.length, events);
  // Emptied on purpose, on its own filesystem: the deletions are recorded.
  const plain = join(bt.work, 'plain');
  mkdirSync(plain);
  writeFileSync(join(plain, 'b'), 'b');
  bt.ok(['dir', 'init', plain]);
  bt.ok(['add', plain]);
  bt.ok(['backup']);
  rmSync(join(plain, 'b'));
  assert.is(bt.json<{ deleted: number }>(['add', plain]).deleted, 1);
});

test('a tracked directory named through a symlink outside it works with every command; a symlink inside one stays an entry', () => {
  const bt = new BtHome().init();
  const real = join(bt.work, 'real');
  mkdirSync(real);
  writeFileSync(join(real, 'f'), 'through the link');
  const docs = join(bt.work, 'Docs');
  symlinkSync('real', docs);
  assert.match(bt.ok(['dir', 'init', docs]), new RegExp(`tracking ${real}`));
  assert.is(bt.json<{ staged: number }>(['add', docs]).staged, 1);
  assert.equal(bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status', docs]).files.map((f) => [f.path, f.state]), [['f', 'staged']]);
  bt.ok(['backup']);
  const out = join(bt.home, 'out');
  bt.ok(['restore', docs, '--output', out]);
  assert.is(readFileSync(join(out, 'f'), 'utf8'), 'through the link');
  // Inside the tracked directory a symlink to a directory is recorded as a link, never followed.
  symlinkSync('/etc', join(real, 'etc-link'));
  assert.is(bt.json<{ staged: number }>(['add', join(real, 'etc-link')]).staged, 1);
  assert.equal(bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status', docs]).files.map((f) => [f.path, f.state]), [['etc-link', 'staged'], ['f', 'backed-up']]);
});

test('a backed-up file replaced by a FIFO is recorded deleted, not left as if it were still there', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'f'), 'a file first');
  writeFileSync(join(d, 'kept'), 'stays');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  rmSync(join(d, 'f'));
  spawnSync('mkfifo', [join(d, 'f')]);
  const add = bt.json<{ deleted: number; passed_over: { path: string; reason: string }[] }>(['add'], { cwd: d });
  assert.is(add.deleted, 1);
  assert.equal(add.passed_over.map((p) => p.path), [join(d, 'f')]);
  assert.is(bt.json<{ deleted: boolean }>(['log', 'f'], { cwd: d }).deleted, true);
  bt.ok(['backup']);
  // As of now the tree holds only what is there as a file; the old version stays restorable by --at.
  const out = join(bt.home, 'now');
  bt.ok(['restore', d, '--output', out]);
  assert.equal(readdirSync(out), ['kept']);
});

test('a .btignore that is a FIFO, a device or too deep to open is reported, never hangs or stops the walk', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  mkdirSync(join(d, 'fifo'));
  spawnSync('mkfifo', [join(d, 'fifo/.btignore')]);
  writeFileSync(join(d, 'fifo/kept.txt'), 'kept');
  mkdirSync(join(d, 'zero'));
  symlinkSync('/dev/zero', join(d, 'zero/.btignore'));
  writeFileSync(join(d, 'zero/kept.txt'), 'kept too');
  // A path over PATH_MAX (4096): its directory cannot be read, the rest of the tree can.
  spawnSync('bash', ['-c', `cd ${JSON.stringify(d)} && for i in $(seq -w 0 20); do n="$i$(printf 'd%.0s' $(seq 200))"; mkdir "$n" && cd "$n"; done; echo leaf > leaf`]);
  writeFileSync(join(d, 'top.txt'), 'top');
  const r = bt.run(['add', '--json'], { cwd: d, timeoutMs: 60_000 });
  assert.is(r.code, 3, r.stderr);
  assert.ok(r.stderr.includes(`bt: ${join(d, 'fifo/.btignore')}: not a regular file; the directory is walked without its rules\n`), r.stderr);
  assert.ok(r.stderr.includes(`bt: ${join(d, 'zero/.btignore')}: not a regular file; the directory is walked without its rules\n`), r.stderr);
  assert.match(r.stderr, /cannot read directory \(ENAMETOOLONG\)/);
  // The two kept files, top.txt, and the symlink itself (recorded as a link); the FIFO is passed over.
  assert.is(JSON.parse(r.stdout).staged, 4);
  assert.is(bt.run(['dir', 'status'], { cwd: d, timeoutMs: 60_000 }).code, 0);
  // Node's rmSync cannot remove a path over PATH_MAX (the temporary HOME's cleanup would fail); rm can.
  spawnSync('bash', ['-c', `rm -rf ${JSON.stringify(d)}/00d*`]);
});

test('bt never backs up its own directories, even named on purpose; a vault is refused where it would overlap them', () => {
  const bt = new BtHome().init();
  // data holds bt's base directory (data/bt): tracking it is allowed, bt's own directories are left out.
  bt.ok(['dir', 'init'], { cwd: join(bt.home, 'data') });
  for (const own of ['data/bt', 'data/bt/data', 'data/bt/vault', 'data/bt/staging', 'data/bt/data/bt.db']) {
    const abs = join(bt.home, own);
    const r = bt.run(['add', abs]);
    assert.is(r.code, 1, own);
    const where = own === 'data/bt' ? 'is one of' : `is in ${join(bt.home, 'data/bt')}, one of`;
    assert.is(r.stderr, `bt: error: ${abs} ${where} bt's own directories: bt never backs up its own files; name a path outside it\n`);
  }
  const tree = join(bt.work, 'tree');
  mkdirSync(tree);
  bt.ok(['dir', 'init'], { cwd: tree });
  const refused = (path: string, why: string): void => {
    const r = bt.run(['config', 'vault', 'add', 'v2', '--type', 'fs', '--path', path]);
    assert.is(r.code, 1, path);
    assert.is(r.stderr, `bt: error: vault path ${path} ${why}; give the vault a directory of its own, apart from bt's own directories, other vaults and tracked directories\n`);
  };
  refused(join(bt.home, 'data/bt/staging/v2'), `is in the staging area ${join(bt.home, 'data/bt/staging')}`);
  refused(join(bt.home, 'data/bt/data/v2'), `is in the database directory ${join(bt.home, 'data/bt/data')}`);
  refused('/', `holds the staging area ${join(bt.home, 'data/bt/staging')}`);
  refused(join(bt.home, 'data/bt/vault/v2'), `overlaps vault "local" at ${join(bt.home, 'data/bt/vault')}`);
  refused(bt.work, `holds the tracked directory ${tree}`);
  refused(tree, `holds the tracked directory ${tree}`);
  // None of those was written: the config still works, and a vault of its own is taken.
  bt.ok(['config', 'list']);
  bt.ok(['config', 'vault', 'add', 'v2', '--type', 'fs', '--path', join(bt.home, 'second-vault')]);
});

test('unreadable files, directories and ignore rules are reported; unreadable files and directories are skipped and listed (exit 3); the rest is backed up', () => {
  if (!isRoot) {
    console.log('NOT RUN: needs root to run bt as another user (permissions do not bind root)');
    return;
  }
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'ok.txt'), 'readable');
  writeFileSync(join(d, 'secret.txt'), 'no access');
  mkdirSync(join(d, 'closed'));
  writeFileSync(join(d, 'closed/inner.txt'), 'behind a closed door');
  writeFileSync(join(d, 'closed/.btignore'), '*.txt\n');
  mkdirSync(join(d, 'rules'));
  writeFileSync(join(d, 'rules/.btignore'), '*.log\n');
  writeFileSync(join(d, 'rules/x.log'), 'its rule cannot be read');
  spawnSync('chown', ['-R', '65534:65534', bt.home]);
  chownSync(join(d, 'rules/.btignore'), 0, 0);
  chmodSync(join(d, 'rules/.btignore'), 0o600);
  chmodSync(bt.home, 0o755);
  chownSync(join(d, 'secret.txt'), 0, 0);
  chmodSync(join(d, 'secret.txt'), 0o600);
  chownSync(join(d, 'closed'), 0, 0);
  chmodSync(join(d, 'closed'), 0o700);
  const asNobody = (args: string[]) => bt.asNobody(args, d);
  const add = asNobody(['add', '--json']);
  assert.is(add.status, 3, add.stderr);
  assert.match(add.stderr, /secret\.txt: cannot read \(EACCES\)/);
  assert.match(add.stderr, /closed: cannot read directory \(EACCES\)/);
  // Rules that exist but cannot be read are said (what they leave out is backed up); behind a closed
  // directory, the directory's own notice is enough.
  assert.ok(add.stderr.includes(`bt: ${join(d, 'rules/.btignore')}: cannot read (EACCES); the directory is walked without its rules\n`), add.stderr);
  assert.not.match(add.stderr, /closed\/\.btignore/);
  const result = JSON.parse(add.stdout) as { staged: number; skipped: { path: string }[] };
  assert.is(result.staged, 2);
  assert.equal(result.skipped.map((s) => s.path.replace(`${d}/`, '')).sort(), ['closed', 'rules/.btignore', 'secret.txt']);
  const firstBackup = asNobody(['backup']);
  assert.is(firstBackup.status, 0, firstBackup.stdout + firstBackup.stderr);
  // A later run that cannot read the directory does not mistake its files for deleted ones.
  chmodSync(join(d, 'closed'), 0o755);
  assert.is(asNobody(['add']).status, 3);
  const secondBackup = asNobody(['backup']);
  assert.is(secondBackup.status, 0, secondBackup.stdout + secondBackup.stderr);
  chmodSync(join(d, 'closed'), 0o700);
  const again = asNobody(['add', '--json']);
  assert.is(JSON.parse(again.stdout).deleted, 0);
});

test('a file that keeps changing while it is read is retried, then reported and skipped', async () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'calm.txt'), 'calm');
  const busy = join(d, 'busy.log');
  writeFileSync(busy, Buffer.alloc(8 << 20, 1));
  // A writer appends every few milliseconds for as long as bt runs.
  const writer = spawn(process.execPath, ['-e', `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(busy)},'a');setInterval(()=>fs.writeSync(fd,'x'.repeat(1000)),2);`]);
  try {
    await new Promise((r) => setTimeout(r, 100));
    const r = bt.run(['add', '--json'], { cwd: d });
    assert.is(r.code, 3, r.stderr);
    assert.match(r.stderr, /busy\.log: kept changing while being read \(tried 3 times\); not staged/);
    assert.is(JSON.parse(r.stdout).staged, 1);
  } finally {
    writer.kill();
  }
});

test('symlink loops are recorded as links, never followed', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  mkdirSync(join(d, 'a'));
  symlinkSync('self', join(d, 'self'));
  symlinkSync('..', join(d, 'a/up'));
  symlinkSync('../a', join(d, 'a/again'));
  writeFileSync(join(d, 'a/file.txt'), 'x');
  const r = bt.json<{ staged: number }>(['add'], { cwd: d, timeoutMs: 20_000 });
  assert.is(r.staged, 4);
  bt.ok(['backup']);
  const log = bt.json<{ versions: { kind: string; link_target: string }[] }>(['log', 'self'], { cwd: d });
  assert.equal(log.versions.map((v) => [v.kind, v.link_target]), [['symlink', 'self']]);
});

test('an unknown vault, an unmounted vault and a full vault: clear messages, staged work kept', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'f.txt'), 'keep me');
  bt.ok(['add'], { cwd: d });
  const unknown = bt.run(['check', '--vault', 'nope']);
  assert.is(unknown.code, 1);
  assert.match(unknown.stderr, /no vault named "nope" \(configured: local\)/);

  renameSync(bt.vault, `${bt.vault}.away`);
  const gone = bt.run(['backup']);
  assert.is(gone.code, 1);
  assert.match(gone.stdout + gone.stderr, /vault "local": .*\/vault is not there \(is its disk mounted\?\); mount the disk it lives on/);
  assert.is(stagedCopies(join(bt.home, 'data/bt/staging')).length, 1, 'the staged copy is kept');
  // With many files, a vault that is down is reported a few times and then counted, not once per file.
  for (let i = 0; i < 30; i++) writeFileSync(join(d, `more-${i}.txt`), `more ${i}`);
  bt.ok(['add'], { cwd: d });
  const many = bt.run(['backup', '--json']);
  assert.is(many.code, 1);
  assert.is((JSON.parse(many.stdout) as { failed: unknown[] }).failed.length, 31, 'every file is listed in --json');
  const lines = many.stderr.trim().split('\n');
  assert.ok(lines.filter((l) => l.includes(': kept staged: ')).length <= 3, many.stderr);
  assert.match(many.stderr, /\.\.\. and \d+ more file\(s\) kept staged: vault "local": .*is not there \(is its disk mounted\?\)/);
  assert.is(lines.filter((l) => l === 'bt: vault "local" is unavailable: the next files skip it (one tries it again every 60 s)').length, 1, many.stderr);
  assert.is(stagedCopies(join(bt.home, 'data/bt/staging')).length, 31, 'every staged copy is kept');
  renameSync(`${bt.vault}.away`, bt.vault);
  assert.is(bt.json<{ files: number }>(['backup']).files, 31);
  // Check says once that the vault cannot answer (exit 1: nothing found damaged, not everything looked at).
  renameSync(bt.vault, `${bt.vault}.away`);
  const checked = bt.run(['check']);
  assert.is(checked.code, 1);
  assert.match(checked.stdout, /^vault "local": unavailable, 31 content\(s\) there not checked: .*vault is not there \(is its disk mounted\?\); mount the disk it lives on, or correct its path in bt\.toml$/m);
  assert.not.match(checked.stdout + checked.stderr, /unreadable|no problems found|--repair/);
  renameSync(`${bt.vault}.away`, bt.vault);

  if (!isRoot) {
    console.log('NOT RUN: the full-vault part needs root to mount a small tmpfs');
    return;
  }
  const small = tempDir('bt-small');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', small]).status !== 0) {
    console.log('NOT RUN: could not mount a tmpfs');
    return;
  }
  try {
    bt.ok(['config', 'vault', 'add', 'tiny', '--type', 'fs', '--path', join(small, 'vault')]);
    bt.ok(['config', 'vault', 'init']);
    writeFileSync(join(d, 'big.bin'), Buffer.alloc(3 << 20, 7));
    bt.ok(['add'], { cwd: d });
    const full = bt.run(['backup']);
    assert.is(full.code, 1);
    // A full disk takes no next file either: the version is committed to "local" without it (ADR 0016).
    assert.match(full.stderr, /vault "tiny" is unavailable \(no space left on its disk; free some space there\): 1 version\(s\) committed without it/);
    assert.not.match(full.stdout + full.stderr, /internal error|ENOSPC/);
    assert.match(full.stdout, /^backed up 1 file\(s\)/);
    bt.ok(['restore', 'big.bin', '--output', join(bt.home, 'big.out')], { cwd: d });
    assert.ok(readFileSync(join(bt.home, 'big.out')).equals(Buffer.alloc(3 << 20, 7)));
    bt.ok(['config', 'vault', 'remove', 'tiny']);
    assert.is(bt.json<{ files: number }>(['backup']).files, 0);
  } finally {
    spawnSync('umount', [small]);
  }
});

/** Runs `body` with bt's staging area on a 2 MiB tmpfs (root only: said and skipped otherwise), unmounted after. */
function withSmallStaging(body: (bt: BtHome, small: string) => void): void {
  if (!isRoot) {
    console.log('NOT RUN: needs root to mount a small tmpfs');
    return;
  }
  const small = tempDir('bt-staging');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', small]).status !== 0) {
    console.log('NOT RUN: could not mount a tmpfs');
    return;
  }
  try {
    const bt = new BtHome().init();
    const cfg = join(bt.home, '.config/bt.toml');
    writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/staging_dir = "[^"]*"/, `staging_dir = ${JSON.stringify(join(small, 'staging'))}`));
    body(bt, small);
  } finally {
    spawnSync('umount', [small]);
  }
}

test('a full staging area stops add with a clear message; what was staged before is kept', () => {
  withSmallStaging((bt, small) => {
    const d = tracked(bt);
    writeFileSync(join(d, 'small.txt'), 'small');
    bt.ok(['add'], { cwd: d });
    writeFileSync(join(d, 'huge.bin'), Buffer.alloc(4 << 20, 1));
    const r = bt.run(['add'], { cwd: d });
    assert.is(r.code, 1);
    assert.is(r.stderr, `bt: error: no space left on the staging area ${join(small, 'staging')} (ENOSPC); nothing staged before was lost; run \`bt backup\` to move staged files to the vaults, or free some space, then run \`bt add\` again\n`);
    const status = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: d });
    assert.equal(status.files.map((f) => [f.path, f.state]), [['huge.bin', 'untracked'], ['small.txt', 'staged']]);
    rmSync(join(d, 'huge.bin'));
    assert.is(bt.json<{ files: number }>(['backup']).files, 1);
  });
});

test('a staging area smaller than what one add would stage: each add keeps what fit, backup frees it, and the adds finish', () => {
  withSmallStaging((bt) => {
    const d = tracked(bt);
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((c) => `${c}.bin`);
    names.forEach((name, i) => writeFileSync(join(d, name), Buffer.alloc(600 << 10, i + 1)));
    const states = (): string[] => bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: d }).files.map((f) => `${f.path} ${f.state}`);
    const first = bt.run(['add'], { cwd: d });
    assert.is(first.code, 1);
    assert.match(first.stderr, /^bt: error: no space left on the staging area \S+ \(ENOSPC\); the [1-3] files? staged before it filled were kept; run `bt backup` to move staged files to the vaults, or free some space, then run `bt add` again\n$/);
    const keptFirst = states().filter((s) => s.endsWith(' staged')).length;
    assert.ok(keptFirst >= 1 && keptFirst <= 3, `${keptFirst} staged`);
    // Each backup empties the staging area; each add then stages more, until one ends without an error.
    let rounds = 0;
    for (;;) {
      bt.ok(['backup']);
      const r = bt.run(['add'], { cwd: d });
      if (r.code === 0) break;
      assert.is(r.code, 1, r.stderr);
      assert.ok(++rounds < 7, 'every add stages at least one file');
    }
    bt.ok(['backup']);
    assert.equal(states(), names.map((n) => `${n} backed-up`));
    const out = join(bt.work, 'out');
    bt.ok(['restore', d, '--output', out]);
    names.forEach((name, i) => assert.ok(readFileSync(join(out, name)).equals(Buffer.alloc(600 << 10, i + 1)), name));
  });
});

test('a staging directory that holds bt\'s other data is refused; one that holds the user\'s files keeps them', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'f.txt'), 'x');
  const cfg = join(bt.home, '.config/bt.toml');
  const original = readFileSync(cfg, 'utf8');
  const base = join(bt.home, 'data/bt');
  const before = listFiles(base);
  // The base directory itself: a sweep there would remove the database and the vault.
  writeFileSync(cfg, original.replace(/staging_dir = "[^"]*"/, `staging_dir = ${JSON.stringify(base)}`));
  const refused = bt.run(['add'], { cwd: d });
  assert.is(refused.code, 1);
  assert.is(refused.stderr, `bt: error: config ${cfg}: staging.staging_dir ${base} holds the base_dir ${base}; give the staging area a directory of its own (by default base_dir/staging), or move the base_dir out of it\n`);
  assert.equal(listFiles(base), before, 'nothing touched');
  // A folder of the user's own: only what is named like a stage is bt's to sweep.
  const mine = join(bt.work, 'mine');
  mkdirSync(join(mine, 'a'), { recursive: true });
  writeFileSync(join(mine, 'notes.txt'), 'mine');
  writeFileSync(join(mine, 'a/x.txt'), 'mine too');
  writeFileSync(join(mine, '01J0000000000000000000000Z'), 'an orphan staged copy');
  writeFileSync(cfg, original.replace(/staging_dir = "[^"]*"/, `staging_dir = ${JSON.stringify(mine)}`));
  assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, 1);
  assert.is(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'mine');
  assert.is(readFileSync(join(mine, 'a/x.txt'), 'utf8'), 'mine too');
  assert.not.ok(existsSync(join(mine, '01J0000000000000000000000Z')), 'the orphan copy is swept');
  bt.ok(['backup']);
  assert.is(readFileSync(join(mine, 'notes.txt'), 'utf8'), 'mine');
  assert.is(readFileSync(join(mine, 'a/x.txt'), 'utf8'), 'mine too');
});

test('restore destinations bt cannot use: one line each, never blamed on the vault, never a special file replaced', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  for (let i = 0; i < 40; i++) writeFileSync(join(d, `f${String(i).padStart(2, '0')}.txt`), `file ${i} `.repeat(2000));
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  const out = join(bt.home, 'out');
  mkdirSync(out);
  // A file or a dangling link where a directory must go.
  writeFileSync(join(out, 'afile'), 'x');
  let r = bt.run(['restore', 'f00.txt', '--output', join(out, 'afile', 'x')], { cwd: d });
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: cannot create directory ${join(out, 'afile')}: a file is in the way; move it, or choose another path\n`);
  symlinkSync(join(out, 'nowhere'), join(out, 'dangling'));
  r = bt.run(['restore', '.', '--output', join(out, 'dangling')], { cwd: d });
  assert.is(r.code, 1);
  assert.match(r.stderr, /^bt: error: cannot create directory .*dangling: it is a link to something that does not exist; remove the link, or create what it points to\n$/);
  // A directory bt may not write into is the output's problem, not every vault's.
  if (existsSync('/sys/kernel')) {
    r = bt.run(['restore', 'f00.txt', '--output', '/sys/kernel/bt-x'], { cwd: d });
    assert.is(r.code, 1);
    assert.match(r.stderr, /^bt: error: cannot write into \/sys\/kernel \((EACCES|EPERM)\); restore elsewhere with --output\n$/);
  }
  // --force replaces files, never a FIFO (or a device node).
  spawnSync('mkfifo', [join(out, 'fifo')]);
  r = bt.run(['restore', 'f00.txt', '--output', join(out, 'fifo'), '--force'], { cwd: d });
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: ${join(out, 'fifo')} is a FIFO; not replaced; move it, or restore elsewhere with --output\n`);
  assert.ok(statSync(join(out, 'fifo')).isFIFO());
  // A disk that fills midway stops the restore at once, with one line (not one per file).
  if (!isRoot) return;
  const small = tempDir('bt-full');
  if (spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=100k', 'tmpfs', small]).status !== 0) return;
  try {
    r = bt.run(['restore', '.', '--output', join(small, 'tree')], { cwd: d });
    assert.is(r.code, 1);
    assert.is(r.stderr, `bt: error: no space left on the device of ${join(small, 'tree')}; free some space, or restore elsewhere with --output\n`);
  } finally {
    spawnSync('umount', [small]);
  }
});

test('a truncated or overwritten database is detected, with recover and rebuild offered', () => {
  const bt = new BtHome().init();
  const d = backedUpDir(bt, { 'f.txt': 'x' });
  const db = join(bt.home, 'data/bt/data/bt.db');
  spawnSync(process.execPath, ['-e', `const D=require(${JSON.stringify(require_resolve_sqlite())});const d=new D(${JSON.stringify(db)});d.pragma('wal_checkpoint(TRUNCATE)');d.close()`]);
  truncateSync(db, Math.floor(statSync(db).size / 2));
  const r = bt.run(['log', 'f.txt'], { cwd: d });
  assert.is(r.code, 4);
  assert.match(r.stderr, /the database .*bt\.db is damaged \(SQLITE_CORRUPT\); move it aside and run `bt recover`.*`bt rebuild`/);
  writeFileSync(db, 'not a database at all, not even close to one..........................................................');
  const r2 = bt.run(['add'], { cwd: d });
  assert.is(r2.code, 4);
  assert.match(r2.stderr, /is damaged \(SQLITE_NOTADB\)/);
  // Truncated to nothing: SQLite would start a new, empty journal in it; bt refuses.
  truncateSync(db, 0);
  rmSync(`${db}-wal`, { force: true });
  rmSync(`${db}-shm`, { force: true });
  for (const args of [['dir', 'status'], ['backup'], ['check']]) {
    const r3 = bt.run(args, { cwd: d });
    assert.is(r3.code, 4, args.join(' '));
    assert.is(r3.stderr, `bt: error: the database ${db} is empty (0 bytes): it was truncated, or its creation never finished; move it aside and run \`bt recover\` to rebuild it from a vault (delete it instead if this machine never backed up)\n`);
  }
  assert.is(statSync(db).size, 0);
});

test('a database or staging area that cannot be written: one line naming it (exit 1), not an internal error or the vault', () => {
  if (!canRunAsNobody()) {
    console.log('NOT RUN: needs root and setpriv to run bt as another user');
    return;
  }
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'a'), 'a');
  spawnSync('chown', ['-R', '65534:65534', bt.home]);
  chmodSync(bt.home, 0o755);
  const asNobody = (args: string[]) => bt.asNobody(args, d);
  assert.is(asNobody(['add']).status, 0);
  const db = join(bt.home, 'data/bt/data/bt.db');
  chmodSync(db, 0o444);
  const r = asNobody(['backup']);
  assert.is(r.status, 1, r.stderr);
  assert.is(r.stderr, 'bt: error: the database cannot be written (SQLITE_READONLY); check that the data directory (`bt config list`) and bt.db, bt.db-wal and bt.db-shm in it are yours and writable\n');
  // Made writable again (SQLite created -shm with the database's mode: it is named in the hint), all goes on.
  for (const f of ['bt.db', 'bt.db-shm', 'bt.db-wal']) chmodSync(join(bt.home, 'data/bt/data', f), 0o600);
  assert.is(asNobody(['backup']).status, 0);
  // A staging area made read-only: its refusal is named, not blamed on the vault; nothing staged is lost.
  writeFileSync(join(d, 'b'), 'b');
  chownSync(join(d, 'b'), 65534, 65534);
  assert.is(asNobody(['add']).status, 0);
  const staging = join(bt.home, 'data/bt/staging');
  spawnSync('chmod', ['-R', 'a-w', staging]);
  const ro = asNobody(['backup']);
  assert.is(ro.status, 1);
  assert.match(ro.stderr, new RegExp(`kept staged: vault "local": cannot move staged copies out of the staging area ${staging} \\(EACCES\\)`));
  spawnSync('chmod', ['-R', 'u+w', staging]);
  assert.is(asNobody(['backup']).status, 0);
  assert.is(JSON.parse(asNobody(['log', '--json', join(d, 'b')]).stdout).versions.length, 1);
  // A filesystem vault of another user account (owner-only): said as such, not "not set up"; kept staged.
  writeFileSync(join(d, 'c'), 'c');
  chownSync(join(d, 'c'), 65534, 65534);
  assert.is(asNobody(['add']).status, 0);
  spawnSync('chown', ['-R', '0:0', bt.vault]);
  const foreign = asNobody(['backup']);
  assert.is(foreign.status, 1);
  assert.match(foreign.stderr, new RegExp(`kept staged: vault "local": cannot read ${bt.vault}/bt-vault\\.json \\(EACCES\\): the vault belongs to another user account; a filesystem vault is owner-only: use it as the user who set it up \\(or share one through an S3 bucket\\)`));
  spawnSync('chown', ['-R', '65534:65534', bt.vault]);
  assert.is(asNobody(['backup']).status, 0);
});

test('config set-up mistakes: an empty BT_CONFIG is unset, a base directory that is a file is refused before anything is written, a vault path that is a file says so', () => {
  const bt = new BtHome();
  // Empty means unset: the default path under HOME, not a file named after the current directory.
  bt.ok(['config', 'init'], { env: { BT_CONFIG: '' } });
  assert.ok(existsSync(join(bt.home, '.config/bt.toml')));
  const other = new BtHome();
  writeFileSync(join(other.home, 'a-file'), 'x');
  const r = other.run(['config', 'init'], { env: { BT_BASE_DIR: join(other.home, 'a-file') } });
  assert.is(r.code, 1);
  assert.is(r.stderr, `bt: error: the base directory ${join(other.home, 'a-file')} is not a directory; point BT_BASE_DIR at a directory (it is made if missing)\n`);
  assert.not.ok(existsSync(join(other.home, '.config/bt.toml')), 'no config written');
  // A vault path replaced by a file: what is staged stays staged, and the message says what is wrong.
  const d = tracked(bt);
  writeFileSync(join(d, 'f'), 'f');
  bt.ok(['add'], { cwd: d });
  rmSync(bt.vault, { recursive: true });
  writeFileSync(bt.vault, 'not a vault');
  const b = bt.run(['backup']);
  assert.is(b.code, 1);
  assert.match(b.stderr, new RegExp(`kept staged: vault "local": ${bt.vault} is not a directory; point the vault's path in bt.toml at a directory`));
});

/** A home with a second filesystem vault "usb", and one file backed up to both. */
function backedUpWithUsb(label: string, file: string, body: string): { bt: BtHome; usb: string; d: string } {
  const bt = new BtHome().init();
  const usb = join(tempDir(label), 'vault');
  bt.ok(['config', 'vault', 'add', 'usb', '--type', 'fs', '--path', usb]);
  bt.ok(['config', 'vault', 'init']);
  const d = tracked(bt);
  writeFileSync(join(d, file), body);
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  return { bt, usb, d };
}

test("an empty mount point another host set up as a vault is not taken for this host's vault: refused, versions go to the others, the real disk back takes them", () => {
  const { bt, usb, d } = backedUpWithUsb('bt-usb-id', 'a.txt', 'first');
  // The disk unplugged; another host, which never used it, sets the empty mount point up as a vault.
  renameSync(usb, `${usb}.disk`);
  mkdirSync(usb);
  const other = new BtHome().init();
  other.ok(['config', 'vault', 'add', 'usb', '--type', 'fs', '--path', usb]);
  other.ok(['config', 'vault', 'init']);
  writeFileSync(join(d, 'b.txt'), 'while the disk was away');
  bt.ok(['add'], { cwd: d });
  const r = bt.run(['backup', '--json']);
  assert.is(r.code, 1);
  assert.match(r.stderr, new RegExp(`vault "usb" is unavailable \\(${usb} holds another vault than the one this host backs up to \\(marker id [0-9a-f]{8}, this host's [0-9a-f]{8}\\): another disk, or an empty mount point set up by another host\\?`));
  assert.equal((JSON.parse(r.stdout) as { skipped_vaults: { vault: string }[] }).skipped_vaults.map((v) => v.vault), ['usb']);
  assert.equal(listFiles(join(usb, 'content')), [], 'nothing of this host written into the other vault');
  // The real disk back: it takes what it missed.
  rmSync(usb, { recursive: true });
  renameSync(`${usb}.disk`, usb);
  const back = bt.json<{ caught_up: { vault: string; contents: number }[] }>(['backup']);
  assert.equal(back.caught_up.map((c) => [c.vault, c.contents]), [['usb', 1]]);
  assert.is(bt.run(['check']).code, 0);
  // A disk replaced on purpose: `config vault init --force` sets it up, and this host uses it from then on.
  rmSync(usb, { recursive: true });
  mkdirSync(usb);
  bt.ok(['config', 'vault', 'init', '--force']);
  assert.is(bt.run(['check']).code, 4, 'the new disk lacks what the journal records there');
  assert.is(bt.run(['check', '--repair']).code, 0);
  assert.is(bt.run(['backup']).code, 0, 'the new disk is this host\'s vault now');
});

test('a second vault away (disk not mounted): versions are committed to the first, and the backup that reaches it again copies them in', () => {
  const { bt, usb, d } = backedUpWithUsb('bt-usb', 'before.txt', 'backed up to both');
  renameSync(usb, `${usb}.away`);
  // An empty mount point left where the disk was is not set up as a new vault: the journal records contents there.
  mkdirSync(usb);
  const init = bt.run(['config', 'vault', 'init']);
  assert.is(init.code, 1);
  assert.match(init.stdout, new RegExp(`vault "usb": FAILED: ${usb} has no bt-vault\\.json, but the journal records 1 content\\(s\\) in this vault: is its disk not mounted\\?`));
  assert.not.ok(existsSync(join(usb, 'bt-vault.json')));
  rmSync(usb, { recursive: true });
  const bodies: Record<string, string> = { 'away.txt': 'written while the disk was away', 'also.txt': 'and this' };
  for (const [name, body] of Object.entries(bodies)) writeFileSync(join(d, name), body);
  bt.ok(['add'], { cwd: d });
  const r = bt.run(['backup', '--json']);
  assert.is(r.code, 1, 'a backup that missed a vault is not complete');
  const away = JSON.parse(r.stdout) as { files: number; failed: unknown[]; skipped_vaults: { vault: string; versions: number }[] };
  assert.equal([away.files, away.failed.length], [2, 0]);
  assert.equal(away.skipped_vaults.map((s) => [s.vault, s.versions]), [['usb', 2]]);
  assert.match(r.stderr, /vault "usb" is unavailable \(.*is not there \(is its disk mounted\?\); mount the disk it lives on, or correct its path in bt\.toml\): 2 version\(s\) committed without it; the next `bt backup` that reaches it copies them from the other vaults\n/);
  // Committed: restorable from the first vault, and nothing left staged.
  assert.equal(stagedCopies(join(bt.home, 'data/bt/staging')), []);
  bt.ok(['restore', 'away.txt', '--output', join(bt.home, 'away.out')], { cwd: d });
  assert.is(readFileSync(join(bt.home, 'away.out'), 'utf8'), bodies['away.txt']);

  renameSync(`${usb}.away`, usb);
  const back = bt.json<{ files: number; caught_up: { vault: string; contents: number; bytes: number; left: number; refused: string | null; error: string | null }[] }>(['backup']);
  assert.equal(back.caught_up, [{ vault: 'usb', contents: 2, bytes: 31 + 8, left: 0, refused: null, error: null }]);
  assert.is(bt.run(['check', '--read-data', '--vault', 'usb']).code, 0);
  // The disk alone now gives them back.
  renameSync(bt.vault, `${bt.vault}.gone`);
  for (const [name, body] of Object.entries(bodies)) {
    const out = bt.run(['restore', name, '--output', join(bt.home, `${name}.usb`)], { cwd: d });
    assert.match(out.stdout, /from vault "usb"/);
    assert.is(readFileSync(join(bt.home, `${name}.usb`), 'utf8'), body);
  }
  renameSync(`${bt.vault}.gone`, bt.vault);
  // Nothing left to catch up: the next backup copies nothing.
  assert.equal(bt.json<{ caught_up: unknown[] }>(['backup']).caught_up, []);
});

test('catch-up goes on past a content the vault refuses, says why, and takes it next run', () => {
  const bt = new BtHome().init();
  const usb = join(tempDir('bt-usb'), 'vault');
  bt.ok(['config', 'vault', 'add', 'usb', '--type', 'fs', '--path', usb]);
  bt.ok(['config', 'vault', 'init']);
  const d = tracked(bt);
  renameSync(usb, `${usb}.away`);
  const bodies = ['one', 'two', 'three', 'four'];
  for (const body of bodies) writeFileSync(join(d, `${body}.txt`), body);
  bt.ok(['add'], { cwd: d });
  assert.is(bt.run(['backup']).code, 1);
  renameSync(`${usb}.away`, usb);
  // A file where one content's fan-out directory goes: the vault answers, but cannot take that one.
  const blocked = sha('two');
  writeFileSync(join(usb, 'content', blocked.slice(0, 2)), 'in the way');
  const r = bt.run(['backup', '--json']);
  assert.is(r.code, 1);
  const [c] = (JSON.parse(r.stdout) as { caught_up: { vault: string; contents: number; left: number; refused: string | null; error: string | null }[] }).caught_up;
  assert.equal([c!.vault, c!.contents, c!.left, c!.error], ['usb', 3, 1, null]);
  assert.ok(c!.refused !== null, 'the reason is given');
  rmSync(join(usb, 'content', blocked.slice(0, 2)));
  const again = bt.json<{ caught_up: { contents: number; left: number }[] }>(['backup']);
  assert.equal(again.caught_up.map((x) => [x.contents, x.left]), [[1, 0]]);
  assert.is(bt.run(['check', '--read-data', '--vault', 'usb']).code, 0);
});

test('two files with one content and the vault away: nothing is counted as deduplicated, both stay staged', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'a.bin'), Buffer.alloc(3000, 7));
  writeFileSync(join(d, 'b.bin'), Buffer.alloc(3000, 7));
  bt.ok(['add'], { cwd: d });
  renameSync(bt.vault, `${bt.vault}.away`);
  const r = bt.run(['backup', '--json']);
  assert.is(r.code, 1);
  const result = JSON.parse(r.stdout) as { files: number; bytes_sent: number; bytes_deduped: number; failed: unknown[] };
  assert.equal([result.files, result.bytes_sent, result.bytes_deduped, result.failed.length], [0, 0, 0, 2]);
  renameSync(`${bt.vault}.away`, bt.vault);
  const again = bt.json<{ files: number; bytes_sent: number; bytes_deduped: number }>(['backup']);
  assert.equal([again.files, again.bytes_sent, again.bytes_deduped], [2, 3000, 3000]);
});

test('a temporary a killed restore left beside a file is never staged; a restore there leaves a fresh one alone (another restore may be writing it)', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'f.txt'), 'the file');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  // As a restore beside the file killed mid-write leaves it: bt's temporary name, partial bytes.
  const left = restoreTmpPath(join(d, 'f.txt'));
  writeFileSync(left, 'partial');
  // A file of the user's named like one (not made by bt: its tag does not match) is the user's, backed up.
  writeFileSync(join(d, '.bt-restore-abcdef0123'), 'my notes');
  const add = bt.json<{ staged: number; unchanged: number }>(['add'], { cwd: d });
  assert.equal([add.staged, add.unchanged], [1, 1]);
  assert.equal(bt.json<{ files: { path: string }[] }>(['dir', 'status'], { cwd: d }).files.map((f) => f.path), ['.bt-restore-abcdef0123', 'f.txt']);
  // A restore into that directory leaves a fresh temporary alone: another restore may be writing it.
  bt.ok(['restore', 'f.txt'], { cwd: d });
  assert.ok(existsSync(left));
});

test('a staged copy lost before backup: the stage is dropped once, with a message, and the next add stages the file again', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'kept.txt'), 'still here');
  writeFileSync(join(d, 'gone.txt'), 'deleted later');
  bt.ok(['add'], { cwd: d });
  const staging = join(bt.home, 'data/bt/staging');
  for (const id of stagedCopies(staging)) rmSync(join(staging, id.slice(-1), id), { force: true });
  rmSync(join(d, 'gone.txt'));
  const r = bt.run(['backup', '--json']);
  assert.is(r.code, 1);
  const result = JSON.parse(r.stdout) as { failed: unknown[]; dropped: { path: string; reason: string }[] };
  const why = 'its staged copy was lost: the stage is dropped; run `bt add` to stage the file again';
  assert.equal(result.dropped.map((f) => [f.path, f.reason]).sort(), [[join(d, 'gone.txt'), why], [join(d, 'kept.txt'), why]]);
  assert.equal(result.failed, [], 'dropped, not kept staged');
  // Not stuck: the unchanged file is staged again (not skipped by stat), the deleted one is recorded deleted.
  const add = bt.json<{ staged: number; deleted: number }>(['add'], { cwd: d });
  assert.equal([add.staged, add.deleted], [1, 0]);
  assert.is(bt.run(['backup']).code, 0);
  bt.ok(['restore', 'kept.txt', '--output', join(bt.home, 'kept.out')], { cwd: d });
  assert.is(readFileSync(join(bt.home, 'kept.out'), 'utf8'), 'still here');
  assert.is(bt.run(['backup']).code, 0);
});

test('a backup killed after its vault took the staged copies, then a second vault added: the copies are fetched back and go to both', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  const bodies: Record<string, string> = { 'a.txt': 'alpha, moved into the vault before the kill', 'b.txt': 'bravo' };
  for (const [name, body] of Object.entries(bodies)) writeFileSync(join(d, name), body);
  bt.ok(['add'], { cwd: d });
  // The only vault is the last one: it takes each staged copy by rename. Killed after the first such put, before any commit.
  const killed = spawnSync(process.execPath, [BT_BIN, 'backup'], { env: { ...bt.env, BT_FAULT: 'put:1' }, encoding: 'utf8' });
  assert.is(killed.signal, 'SIGKILL');
  const staging = join(bt.home, 'data/bt/staging');
  assert.ok(stagedCopies(staging).length < 2, 'at least one staged copy was moved into the vault');
  const second = join(tempDir('bt-second'), 'vault');
  bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  bt.ok(['config', 'vault', 'init']);
  const r = bt.run(['backup']);
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^backed up 2 file\(s\)/);
  assert.equal(stagedCopies(staging), []);
  assert.equal(listFiles(staging).filter((n) => n.includes('.bt-restore')), []);
  for (const [name, body] of Object.entries(bodies)) {
    for (const vault of [bt.vault, second]) {
      const id = sha(body);
      const object = join(vault, 'content', id.slice(0, 2), id);
      assert.is(readFileSync(object, 'utf8'), body, `${name} in ${vault}`);
      assert.is(statSync(object).mode & 0o777, 0o400, `${name} in ${vault}: read-only`);
    }
  }
  const check = bt.run(['check', '--read-data']);
  assert.is(check.code, 0, check.stdout + check.stderr);
  assert.is(bt.json<{ files: { state: string }[] }>(['dir', 'status'], { cwd: d }).files.map((f) => f.state).join(), 'backed-up,backed-up');
});

test('a fetch-back temporary left in the staging area by a killed backup is removed by the next sweep', () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'f.txt'), 'x');
  bt.ok(['add'], { cwd: d });
  const bucket = join(bt.home, 'data/bt/staging', 'Z');
  mkdirSync(bucket, { recursive: true });
  const left = restoreTmpPath(join(bucket, 'x'));
  // One a bt before the tagged names left (in the staging area only, the older form counts as bt's).
  const olderLeft = join(bucket, '.bt-restore-1a2b3c4d0');
  const notOurs = join(bucket, '.bt-restore-notes');
  writeFileSync(left, 'half');
  writeFileSync(olderLeft, 'half');
  writeFileSync(notOurs, 'mine');
  bt.ok(['backup']);
  assert.not.ok(existsSync(left));
  assert.not.ok(existsSync(olderLeft));
  assert.is(readFileSync(notOurs, 'utf8'), 'mine');
});

test('a lost config with the database still there: config init takes the host id the database records', () => {
  const bt = new BtHome().init();
  const d = backedUpDir(bt, { 'f.txt': 'x' });
  const hostId = bt.json<{ host_id: string }>(['config', 'list']).host_id;
  rmSync(join(bt.home, '.config/bt.toml'));
  const out = bt.ok(['config', 'init']);
  assert.match(out, new RegExp(`host id ${hostId} \\(the one the existing database records\\)`));
  assert.is(bt.json<{ host_id: string }>(['config', 'list']).host_id, hostId);
  writeFileSync(join(d, 'g.txt'), 'after');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  const verify = bt.run(['journal', 'verify']);
  assert.is(verify.code, 0, verify.stdout + verify.stderr);
});

function require_resolve_sqlite(): string {
  return join(process.cwd(), 'node_modules/better-sqlite3');
}

test('two bt processes at once: a live lock makes the second wait, then exit 5 naming the holder; a dead one is broken', async () => {
  const bt = new BtHome().init();
  const d = tracked(bt);
  writeFileSync(join(d, 'f.txt'), 'x');
  const dataDir = join(bt.home, 'data/bt/data');
  const lock = join(dataDir, 'lock');
  // Held by another process (this test): the lock is respected, and its label names the holder.
  const holding = holdHostLock(dataDir, { pid: process.pid, command: 'backup', since: '2026-01-01T00:00:00.000Z' });
  const started = Date.now();
  const r = bt.run(['add'], { cwd: d, env: { BT_LOCK_WAIT_MS: '700' } });
  assert.ok(Date.now() - started >= 700, 'it waited');
  assert.is(r.code, 5);
  assert.match(r.stderr, new RegExp(`another bt is working on this host \\(backup, pid ${process.pid}, since 2026-01-01T00:00:00\\.000Z\\); wait for it to finish and try again`));
  // Held, with a label that says nothing readable (half-written, or another format): held all the same.
  for (const junk of ['{"pid": 12', JSON.stringify({ pid: -1, command: 'add' }), '']) {
    writeFileSync(lock, junk);
    const busy = bt.run(['add'], { cwd: d, env: { BT_LOCK_WAIT_MS: '0' } });
    assert.is(busy.code, 5, junk);
    assert.is(busy.stderr, 'bt: error: another bt is working on this host; wait for it to finish and try again\n', junk);
  }
  const bad = bt.run(['add'], { cwd: d, env: { BT_LOCK_WAIT_MS: 'abc' } });
  assert.is(bad.code, 1);
  assert.is(bad.stderr, 'bt: error: BT_LOCK_WAIT_MS="abc" is not a number of milliseconds; set it to e.g. 10000, or unset it\n');
  holding.release();
  // Labelled by a process that is gone, or by nothing readable, and held by nobody: bt goes on.
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' }).stdout.trim();
  const labels = [JSON.stringify({ pid: Number(dead), command: 'add', since: '2026-01-01T00:00:00.000Z' }), '{"pid": 12', JSON.stringify({ pid: process.pid })];
  for (const [i, label] of labels.entries()) {
    writeFileSync(lock, label);
    // f.txt is staged by the first run.
    assert.is(bt.json<{ staged: number }>(['add'], { cwd: d, env: { BT_LOCK_WAIT_MS: '0' } }).staged, i === 0 ? 1 : 0, label);
    assert.not.ok(existsSync(lock), `its label removed after the run (${label})`);
  }
  // Really concurrent: both finish, one after the other, and the journal is whole.
  for (let i = 0; i < 30; i++) writeFileSync(join(d, `g${i}.txt`), `g${i}`);
  const e = join(bt.work, 'e');
  mkdirSync(e);
  bt.ok(['dir', 'init'], { cwd: e });
  for (let i = 0; i < 30; i++) writeFileSync(join(e, `h${i}.txt`), `h${i}`);
  const runs = [d, e].map(
    (cwd) =>
      new Promise<number>((resolve) => {
        const c = spawn(process.execPath, [BT_BIN, 'add'], { cwd, env: bt.env, stdio: 'ignore' });
        c.on('exit', (code) => resolve(code ?? -1));
      }),
  );
  assert.equal(await Promise.all(runs), [0, 0]);
  assert.is(bt.json<{ files: number }>(['backup']).files, 61);
  assert.is(bt.run(['journal', 'verify']).code, 0);
});

test.run();
