// Hostile input: a tampered vault journal, symlinks in a restore, corrupt objects, and file permissions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalJson } from '../../src/events/canonical.js';
import { GENESIS_HASH, type JournalRow, eventHash } from '../../src/events/envelope.js';
import { encodeSegment, segmentKey } from '../../src/events/segment.js';
import { BtHome } from '../support/cli.js';
import { listFiles, stagedCopies } from '../support/files.js';
import { backedUpDir, sha } from '../support/scenarios.js';
import { tempDir } from '../support/tmp.js';
import { useVaultAt } from '../support/vault-path.js';

const HOST = '01JAAAAAAAAAAAAAAAAAAAAAAA';

/** A hash-chained journal an attacker could write into a vault: every hash is right, the content is not. */
function craftedRows(events: { type: string; data: Record<string, unknown> }[]): JournalRow[] {
  let prev = GENESIS_HASH;
  return events.map((e, i) => {
    const row = {
      seq: i + 1,
      id: `01JAAAAAAAAAAAAAAAAAAAAA${String(i).padStart(2, '0')}`.slice(0, 26),
      type: e.type,
      version: 1,
      host_id: HOST,
      time: `2026-01-01T00:00:0${i}.000Z`,
      payload: canonicalJson(e.data),
      prev_hash: prev,
    };
    const hash = eventHash(row);
    prev = hash;
    return { ...row, hash };
  });
}

test('a tampered vault journal naming ../ is refused at recover, naming the row and field; nothing is imported', () => {
  const vault = join(tempDir('bt-evil'), 'vault');
  const bt = new BtHome().init();
  useVaultAt(bt, vault);
  const dir = '01JBBBBBBBBBBBBBBBBBBBBBBB';
  const rows = craftedRows([
    { type: 'DirectoryTracked', data: { directory_id: dir, path: '/home/victim/docs' } },
    {
      type: 'FileStaged',
      data: {
        stage_id: '01JCCCCCCCCCCCCCCCCCCCCCCC', file_id: '01JDDDDDDDDDDDDDDDDDDDDDDD', directory_id: dir,
        name: '../../../etc/cron.d/evil', content_id: sha('x'),
        meta: { kind: 'file', size: 1, mode: 420, uid: 0, gid: 0, atime_ns: '0', mtime_ns: '0', ctime_ns: '0', birthtime_ns: null, dev: '1', ino: '1', link_target: null },
      },
    },
  ]);
  const key = join(vault, 'metadata', segmentKey(HOST, 1, rows.length));
  mkdirSync(join(key, '..'), { recursive: true });
  writeFileSync(key, encodeSegment(rows));
  const r = bt.run(['recover', '--host', HOST]);
  assert.is(r.code, 4, r.stderr);
  assert.match(r.stderr, /journal row 2 \(FileStaged v1\): payload\.name: expected relative path inside the directory, got "\.\.\/\.\.\/\.\.\/etc\/cron\.d\/evil"/);
  assert.equal(bt.json<{ events: unknown[] }>(['journal']).events, []);
});

test('a directory restore never writes through a symlink, even one the journal itself restores', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'docs');
  const outside = tempDir('bt-outside');
  mkdirSync(join(d, 'a'), { recursive: true });
  writeFileSync(join(d, 'a/passwd'), 'inside');
  writeFileSync(join(outside, 'passwd'), 'outside');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  // `a` becomes a symlink to a directory outside; a/passwd still "exists" through it.
  rmSync(join(d, 'a'), { recursive: true });
  symlinkSync(outside, join(d, 'a'));
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  rmSync(join(outside, 'passwd'));
  const out = join(bt.home, 'restored');
  const r = bt.run(['restore', d, '--output', out]);
  assert.equal(readdirSync(outside), [], 'nothing was written outside the target');
  // Files first, into real directories; the link that would shadow one is refused.
  assert.is(r.code, 1);
  assert.match(r.stderr, /bt: a: .*\/restored\/a already exists; use --force/);
  assert.equal(listFiles(out), ['a/passwd']);
  assert.not.ok(lstatSync(join(out, 'a')).isSymbolicLink());
  const forced = bt.run(['restore', d, '--output', out, '--force']);
  assert.is(forced.code, 1);
  assert.match(forced.stderr, /bt: a: .*\/restored\/a is a directory; not replaced/);
  assert.not.ok(lstatSync(join(out, 'a')).isSymbolicLink());

  // Into an output where `a` already is a symlink (say, from an earlier restore): refused, nothing outside.
  const out2 = join(bt.home, 'restored2');
  mkdirSync(out2);
  symlinkSync(outside, join(out2, 'a'));
  const r2 = bt.run(['restore', d, '--output', out2, '--force']);
  assert.is(r2.code, 1);
  assert.match(r2.stderr, /refusing to restore a\/passwd: .*\/restored2\/a is a symlink/);
  assert.equal(readdirSync(outside), []);
});

test('restore verifies bytes before the file appears: a corrupt object leaves no file at the target', () => {
  const bt = new BtHome().init();
  const d = backedUpDir(bt, { 'f.txt': 'precious' });
  const object = join(bt.vault, 'content', sha('precious').slice(0, 2), sha('precious'));
  chmodSync(object, 0o600);
  writeFileSync(object, 'precioux');
  const target = join(bt.home, 'out.txt');
  const r = bt.run(['restore', 'f.txt', '--output', target], { cwd: d });
  assert.is(r.code, 4); // corruption found (every copy is damaged)
  assert.match(r.stderr, /object content\/[0-9a-f]{64} is corrupt/);
  assert.not.ok(existsSync(target));
  assert.equal(readdirSync(bt.home).filter((n) => n.includes('bt-restore')), []);
});

test('bt keeps its own files owner-only: config, database, staging area and staged copies', () => {
  const bt = new BtHome().init();
  const d = join(bt.work, 'docs');
  mkdirSync(d);
  writeFileSync(join(d, 'f.txt'), 'x');
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  const base = join(bt.home, 'data/bt');
  const mode = (p: string): number => statSync(p).mode & 0o777;
  assert.is(mode(join(bt.home, '.config/bt.toml')), 0o600);
  assert.is(mode(join(base, 'data')), 0o700);
  assert.is(mode(join(base, 'data/bt.db')), 0o600);
  assert.is(mode(join(base, 'staging')), 0o700);
  const staged = stagedCopies(join(base, 'staging'));
  assert.is(staged.length, 1);
  const bucket = join(base, 'staging', staged[0]!.slice(-1));
  assert.is(mode(bucket), 0o700);
  assert.is(mode(join(bucket, staged[0]!)), 0o400);
  for (const f of readdirSync(join(base, 'data')).filter((n) => n.startsWith('bt.db'))) assert.is(mode(join(base, 'data', f)) & 0o077, 0, f);
});

test.run();
