// The journal in the vault: incremental sync, recovery by replay, audit, multi-host (filesystem vault).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, readFileSync, readdirSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BtHome } from '../support/cli.js';
import { listFiles, stagedCopies, vaultObjects } from '../support/files.js';
import { loseEverythingAndRecover, sha } from '../support/scenarios.js';
import { tempDir } from '../support/tmp.js';
import { useVaultAt } from '../support/vault-path.js';

test('lose everything, recover from the filesystem vault: logs, versions and trees come back', () => {
  const vault = join(tempDir('bt-vault'), 'vault');
  loseEverythingAndRecover((bt) => useVaultAt(bt, vault));
});

function segmentsOf(vault: string, host: string): string[] {
  return listFiles(join(vault, 'metadata/hosts', host, 'journal'));
}

function backedUpHome(versions = 3): { bt: BtHome; docs: string; host: string; vault: string; cuts: string[] } {
  const vault = join(tempDir('bt-vault'), 'vault');
  const bt = new BtHome().init();
  useVaultAt(bt, vault);
  const docs = join(bt.work, 'docs');
  mkdirSync(docs);
  bt.ok(['dir', 'init'], { cwd: docs });
  const cuts: string[] = [];
  for (let v = 1; v <= versions; v++) {
    writeFileSync(join(docs, 'f.txt'), `version ${v}`);
    bt.ok(['add'], { cwd: docs });
    bt.ok(['backup']);
    cuts.push(new Date().toISOString());
    const until = Date.now() + 20;
    while (Date.now() < until) {
      /* distinct times */
    }
  }
  return { bt, docs, host: bt.json<{ host_id: string }>(['config', 'list']).host_id, vault, cuts };
}

function freshHomeOn(vault: string): BtHome {
  const fresh = new BtHome('bt-new').init();
  useVaultAt(fresh, vault);
  return fresh;
}

test('a new machine that looked at its own new vault first is not refused the old one: reading records no vault id, the first backup does', () => {
  const { docs, vault } = backedUpHome(1);
  const fresh = new BtHome('bt-new').init();
  assert.is(fresh.run(['check']).code, 0, 'the new, empty default vault');
  const cfg = join(fresh.home, '.config/bt.toml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/path = "[^"]*\/vault"/, `path = ${JSON.stringify(vault)}`));
  const r = fresh.run(['recover']);
  assert.is(r.code, 0, r.stderr);
  fresh.ok(['restore', join(docs, 'f.txt'), '--output', join(fresh.home, 'f.out')]);
  const recorded = (): unknown[] => {
    const db = new Database(join(fresh.home, 'data/bt/data/bt.db'), { readonly: true });
    try {
      return db.prepare("SELECT value FROM local_settings WHERE key = 'vault_id:local'").pluck().all();
    } finally {
      db.close();
    }
  };
  assert.equal(recorded(), []);
  fresh.ok(['backup']);
  assert.is(recorded().length, 1);
});

test('the database lost, the staging area kept in the older layout (copies at its top): recover keeps those stages, and backup stores them', () => {
  const { bt, docs } = backedUpHome(1);
  writeFileSync(join(docs, 'f.txt'), 'staged, then the database was lost');
  writeFileSync(join(docs, 'g.txt'), 'a second staged file');
  bt.ok(['add'], { cwd: docs });
  bt.ok(['sync']);
  const staging = join(bt.home, 'data/bt/staging');
  const ids = stagedCopies(staging);
  assert.is(ids.length, 2);
  for (const id of ids) renameSync(join(staging, id.slice(-1), id), join(staging, id));
  for (const f of readdirSync(join(bt.home, 'data/bt/data')).filter((n) => n.startsWith('bt.db'))) rmSync(join(bt.home, 'data/bt/data', f));
  const r = bt.json<{ lostStages: number }>(['recover']);
  assert.is(r.lostStages, 0);
  assert.is(bt.json<{ files: number }>(['backup']).files, 2);
  assert.equal(stagedCopies(staging), []);
  const out = join(bt.home, 'after-recover');
  bt.ok(['restore', docs, '--output', out]);
  assert.is(readFileSync(join(out, 'f.txt'), 'utf8'), 'staged, then the database was lost');
  assert.is(readFileSync(join(out, 'g.txt'), 'utf8'), 'a second staged file');
});

test('the database lost with the config kept: commands that would start a second journal refuse and send to recover', () => {
  const { bt, docs, host } = backedUpHome(2);
  const data = join(bt.home, 'data/bt/data');
  for (const f of readdirSync(data).filter((n) => n.startsWith('bt.db'))) rmSync(join(data, f));
  for (const args of [['dir', 'init', docs], ['add', docs], ['backup']]) {
    const r = bt.run(args);
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stderr, `bt: error: vault "local" holds the journal of this host (${host}), but the local database has none: it was lost, moved or replaced; run \`bt recover --vault local\` to bring it back (a config copied from another machine needs a host id of its own: move it aside and run \`bt config init\`)\n`);
  }
  bt.ok(['recover']);
  writeFileSync(join(docs, 'f.txt'), 'after the recovery');
  bt.ok(['add'], { cwd: docs });
  bt.ok(['backup']);
  assert.is(bt.json<{ versions: unknown[] }>(['log', join(docs, 'f.txt')]).versions.length, 3);
});

test('the machine lost while a vault refused a content: recover keeps the stages whose content a vault took, and symlinks; backup commits them', () => {
  const { bt, docs, vault } = backedUpHome(1);
  const second = join(tempDir('bt-vault2'), 'v2');
  bt.ok(['config', 'vault', 'add', 'v2', '--type', 'fs', '--path', second]);
  bt.ok(['config', 'vault', 'init']);
  const body = 'stored in one vault of two';
  writeFileSync(join(docs, 'f.txt'), body);
  bt.ok(['add'], { cwd: docs });
  // v2 answers but cannot take this content (a file where its directory goes): the version stays staged,
  // its content recorded in "local" only. (A vault that cannot answer at all would not hold it back: ADR 0016.)
  writeFileSync(join(second, 'content', sha(body).slice(0, 2)), 'in the way');
  assert.is(bt.run(['backup']).code, 1);
  rmSync(join(second, 'content', sha(body).slice(0, 2)));
  renameSync(second, `${second}.unplugged`);
  // Staged after that backup: a symlink (its stage holds all of it) and a file (its copy is on this machine only).
  symlinkSync('f.txt', join(docs, 'link'));
  writeFileSync(join(docs, 'g.txt'), 'staged only, never stored');
  bt.ok(['add'], { cwd: docs });
  // v2 is still unplugged: the sync reaches the first vault only.
  assert.is(bt.run(['sync']).code, 1);
  // The machine is lost. A new one with that vault under another name: the journal says the content is
  // in "local", which is not configured there, so nothing can fetch it back; only the symlink is kept.
  const renamed = freshHomeOn(vault);
  const renamedCfg = join(renamed.home, '.config/bt.toml');
  writeFileSync(renamedCfg, readFileSync(renamedCfg, 'utf8').replace('name = "local"', 'name = "elsewhere"'));
  const other = renamed.run(['recover']);
  assert.is(other.code, 0, other.stderr);
  assert.match(other.stdout, /\n2 staged version\(s\) had not been backed up to a vault configured here before the loss; they are dropped\n1 staged version\(s\) whose content/);
  // A new one with the first vault under its name.
  const fresh = freshHomeOn(vault);
  const r = fresh.run(['recover']);
  assert.is(r.code, 0, r.stderr);
  assert.is(r.stdout.split('\n').slice(-3).join('\n'), '1 staged version(s) had not been backed up to a vault configured here before the loss; they are dropped\n2 staged version(s) whose content a vault holds (or symlinks) are kept: run `bt backup` to commit them\n');
  assert.is(fresh.json<{ files: number }>(['backup']).files, 2);
  const out = join(fresh.home, 'out');
  fresh.ok(['restore', docs, '--output', out]);
  assert.is(readFileSync(join(out, 'f.txt'), 'utf8'), 'stored in one vault of two');
  assert.is(readlinkSync(join(out, 'link')), 'f.txt');
  assert.not.ok(existsSync(join(out, 'g.txt')));
});

test('recover --at gives the metadata as it was then, read-only until a full recover', () => {
  const { docs, vault, cuts } = backedUpHome(3);
  const fresh = freshHomeOn(vault);
  const r = fresh.json<{ at: string; events: number }>(['recover', '--at', cuts[0]!]);
  assert.is(r.at, new Date(Date.parse(cuts[0]!)).toISOString());
  const log = fresh.json<{ versions: unknown[] }>(['log', join(docs, 'f.txt')]);
  assert.is(log.versions.length, 1);
  const add = fresh.run(['add', docs]);
  assert.is(add.code, 1);
  assert.match(add.stderr, /was recovered as it was at .* and is read-only; restore what you need, then run `bt recover` without --at/);
  const out = join(fresh.home, 'v1');
  fresh.ok(['restore', join(docs, 'f.txt'), '--output', out]);
  assert.is(readFileSync(out, 'utf8'), 'version 1');
  // A tree restore says the time the metadata is frozen at, not now.
  const tree = fresh.ok(['restore', docs, '--output', join(fresh.home, 'tree')]);
  assert.match(tree, new RegExp(` as of ${r.at.replace(/\./g, '\\.')} into `));
  // The vault holds later events than this frozen journal: said by check, but no damage (exit 0).
  const c = fresh.run(['check']);
  assert.is(c.code, 0, c.stdout);
  assert.match(c.stdout, /: holds events \d+\.\.\d+, which this journal does not have\n/);
  // The full recovery continues from there.
  fresh.ok(['recover']);
  assert.is(fresh.json<{ versions: unknown[] }>(['log', join(docs, 'f.txt')]).versions.length, 3);
});

test('a flipped byte in a vault segment fails recover and journal verify, naming the segment; a missing one is reported', () => {
  const { bt, host, vault } = backedUpHome(3);
  const segments = segmentsOf(vault, host);
  assert.is(segments.length, 3);
  const target = join(vault, 'metadata/hosts', host, 'journal', segments[1]!);
  const original = readFileSync(target);
  // Flip one byte inside an event (recompressed, so it is a valid segment with a wrong hash).
  const text = gunzipSync(original).toString('utf8');
  const at = text.indexOf('\\"size\\":9');
  assert.ok(at > 0, 'the segment holds a size to flip');
  const tampered = `${text.slice(0, at)}${text.slice(at).replace('9', '8')}`;
  chmodSync(target, 0o600);
  writeFileSync(target, gzipSync(Buffer.from(tampered)));
  const verify = bt.run(['journal', 'verify']);
  assert.is(verify.code, 4);
  assert.match(verify.stdout, new RegExp(`vault "local": PROBLEM: .*${segments[1]!.replace('.', '\\.')}`));
  const fresh = freshHomeOn(vault);
  const rec = fresh.run(['recover']);
  assert.is(rec.code, 4);
  assert.match(rec.stderr, new RegExp(`journal segment .*${segments[1]!.replace('.', '\\.')}`));
  // Nothing of the damaged journal was imported.
  assert.equal(fresh.json<{ events: unknown[] }>(['journal']).events, []);

  // A missing segment is a gap, reported as such.
  writeFileSync(target, original);
  rmSync(target);
  const again = fresh.run(['recover']);
  assert.is(again.code, 4);
  assert.match(again.stderr, /journal segment with events \d+\.\.\d+ of host .* is missing/);

  // Another host's journal in the same vault is listed and recovered all the same.
  const other = freshHomeOn(vault);
  const otherDocs = join(other.work, 'docs');
  mkdirSync(otherDocs);
  writeFileSync(join(otherDocs, 'o.txt'), 'other host');
  for (const args of [['dir', 'init'], ['add'], ['backup']]) other.ok(args, { cwd: otherDocs });
  const otherHost = other.json<{ host_id: string }>(['config', 'list']).host_id;
  const third = freshHomeOn(vault);
  const hosts = third.run(['hosts']);
  assert.is(hosts.code, 4);
  const lines = hosts.stdout.split('\n');
  assert.match(lines.find((l) => l.startsWith(host)) ?? hosts.stdout, /^\S+  DAMAGED: vault "local": journal segment with events \d+\.\.\d+ of host \S+ is missing/);
  assert.match(lines.find((l) => l.startsWith(otherHost)) ?? '', /^\S+  \d+ event\(s\)  last \d{4}-/);
  third.ok(['recover', '--host', otherHost]);
  third.ok(['restore', join(otherDocs, 'o.txt'), '--output', join(third.home, 'o.txt')]);
  assert.is(readFileSync(join(third.home, 'o.txt'), 'utf8'), 'other host');
});

test('metadata upload stays flat over 50 backups of one changed file', () => {
  const vault = join(tempDir('bt-vault'), 'vault');
  const bt = new BtHome().init();
  useVaultAt(bt, vault);
  const docs = join(bt.work, 'docs');
  mkdirSync(docs);
  bt.ok(['dir', 'init'], { cwd: docs });
  const sent: number[] = [];
  for (let i = 0; i < 50; i++) {
    writeFileSync(join(docs, 'f.txt'), `content ${i}`);
    bt.ok(['add'], { cwd: docs });
    const r = bt.json<{ journal: { bytes: number; events: number }[] }>(['backup']);
    // A commit carries what was stored for it; the first add also records the directory (rewriting f.txt in place does not change it).
    assert.is(r.journal[0]!.events, i === 0 ? 4 : 2);
    sent.push(r.journal[0]!.bytes);
  }
  const early = Math.max(...sent.slice(1, 6));
  const late = Math.max(...sent.slice(45));
  assert.ok(late <= early * 1.1 + 16, `metadata bytes grew: early ${early}, late ${late}`);
  assert.ok(late < 2048, `a backup of one file uploads ${late} bytes of metadata`);
});

test('two hosts, one vault: shared content uploaded once, metadata separate, both recover', () => {
  const vault = join(tempDir('bt-vault'), 'vault');
  const one = new BtHome('bt-one').init();
  useVaultAt(one, vault);
  const two = new BtHome('bt-two').init();
  useVaultAt(two, vault);
  const shared = Buffer.alloc(50_000, 3);
  for (const [bt, own] of [[one, 'one'], [two, 'two']] as const) {
    const docs = join(bt.work, 'docs');
    mkdirSync(docs);
    writeFileSync(join(docs, 'shared.bin'), shared);
    writeFileSync(join(docs, `${own}.txt`), own);
    bt.ok(['dir', 'init'], { cwd: docs });
    bt.ok(['add'], { cwd: docs });
  }
  const b1 = one.json<{ bytes_sent: number }>(['backup']);
  assert.is(b1.bytes_sent, shared.length + 3);
  const b2 = two.json<{ bytes_sent: number; bytes_deduped: number }>(['backup']);
  assert.is(b2.bytes_sent, 3);
  assert.is(b2.bytes_deduped, shared.length);
  assert.equal(vaultObjects(vault).sort(), [sha(shared), sha('one'), sha('two')].sort());
  const hosts = one.json<{ hosts: { host: string; this_host: boolean }[] }>(['hosts']).hosts;
  assert.is(hosts.length, 2);
  assert.is(hosts.filter((h) => h.this_host).length, 1);

  for (const bt of [one, two]) {
    const id = bt.json<{ host_id: string }>(['config', 'list']).host_id;
    const fresh = freshHomeOn(vault);
    const ambiguous = fresh.run(['recover']);
    assert.is(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /holds journals of 2 hosts; choose one with --host/);
    // A time before the host's first event adopts nothing (the config keeps its own host id).
    const early = fresh.run(['recover', '--host', id, '--at', '2001-01-01']);
    assert.is(early.code, 1, early.stderr);
    assert.match(early.stderr, new RegExp(`^bt: error: host ${id} has no events as of 2001-01-01T23:59:59\\.999Z in vault "local" \\(its first is from 20\\d\\d-.*\\); give a later --at\\n$`));
    assert.is.not(fresh.json<{ host_id: string }>(['config', 'list']).host_id, id);
    // Adopting a host that wrote a moment ago: a warning that it may still be running.
    const adopted = fresh.run(['recover', '--host', id]);
    assert.is(adopted.code, 0, adopted.stderr);
    assert.match(adopted.stderr, new RegExp(`^bt: host ${id} last wrote to the vault at .*: if that machine still runs bt, stop it there for good; two machines using one host id corrupt its journal in the vault\\n$`));
    const files = fresh.json<{ events: { summary: string }[] }>(['journal', '--type', 'SnapshotCommitted']).events.map((e) => e.summary);
    assert.is(files.length, 2);
    const other = bt === one ? 'two.txt' : 'one.txt';
    assert.not.ok(files.some((s) => s.includes(other)), 'only its own metadata');
  }
});

test('a recover killed after its commit, before the config names the adopted host: other commands refuse, a second recover finishes', () => {
  const { host, vault } = backedUpHome(1);
  const fresh = freshHomeOn(vault);
  const ownId = fresh.json<{ host_id: string }>(['config', 'list']).host_id;
  const cfg = join(fresh.home, '.config/bt.toml');
  const before = readFileSync(cfg, 'utf8');
  fresh.ok(['recover']);
  // The config as the kill left it: the machine's own new host id, the database holding the other's journal.
  writeFileSync(cfg, before);
  const docs = join(fresh.work, 'new-docs');
  mkdirSync(docs);
  writeFileSync(join(docs, 'n.txt'), 'written after the interrupted recover');
  const why = `bt: error: the database holds the journal of host ${host}, but the config's host_id is ${ownId}; if a \`bt recover\` was interrupted, run it again to finish; else set host_id = "${host}" in the config\n`;
  for (const args of [['dir', 'init', docs], ['backup'], ['sync'], ['log', join(docs, 'n.txt')]]) {
    const r = fresh.run(args);
    assert.is(r.code, 1, args.join(' '));
    assert.is(r.stderr, why, args.join(' '));
  }
  assert.not.ok(existsSync(join(vault, 'metadata/hosts', ownId)), 'nothing went to the vault under the wrong host');
  const again = fresh.run(['recover']);
  assert.is(again.code, 0, again.stderr);
  assert.match(again.stdout, new RegExp(`this machine now uses host id ${host}`));
  fresh.ok(['dir', 'init', docs]);
  fresh.ok(['add', docs]);
  fresh.ok(['backup']);
  assert.is(fresh.run(['journal', 'verify']).code, 0);
});

test('recover finds a local journal that diverged from the vault even when the local one is longer', () => {
  const { bt, docs, vault } = backedUpHome(1);
  // Another machine recovers this host and goes on backing up: the vault's journal grows there.
  const other = freshHomeOn(vault);
  other.ok(['recover']);
  writeFileSync(join(docs, 'f.txt'), 'changed on the other machine');
  other.ok(['add', docs]);
  other.ok(['backup']);
  // Meanwhile this machine stages five files without syncing: a longer journal, different from that event on.
  for (let i = 0; i < 5; i++) writeFileSync(join(docs, `local-${i}.txt`), `${i}`);
  bt.ok(['add'], { cwd: docs });
  const r = bt.run(['recover']);
  assert.is(r.code, 1, r.stdout);
  assert.match(r.stderr, /^bt: error: the local journal diverges from vault "local" at or before event \d+; move .* aside and recover again\n$/);
});

test('bt journal lists events with summaries and filters by type, file and time', () => {
  const { bt, docs, cuts } = backedUpHome(2);
  const all = bt.json<{ events: { seq: number; type: string; summary: string }[] }>(['journal']).events;
  assert.equal(all.map((e) => e.seq), all.map((_, i) => i + 1));
  // A commit carries what the vaults stored for it (SnapshotCommitted v2): no ContentStored of its own.
  // The first add also records the tracked directory's own metadata (for tree restores); the second finds it unchanged.
  assert.equal(all.map((e) => e.type), ['DirectoryTracked', 'FileStaged', 'DirectoryMetaRecorded', 'SnapshotCommitted', 'FileStaged', 'SnapshotCommitted']);
  assert.match(all[0]!.summary, new RegExp(`tracked ${docs}`));
  assert.match(all[1]!.summary, new RegExp(`staged ${docs}/f.txt [0-9a-f]{12} 9 B`));
  const st = statSync(docs);
  assert.is(all[2]!.summary, `directory ${docs} mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')} owner ${st.uid}:${st.gid}`);
  assert.match(all[3]!.summary, new RegExp(`committed ${docs}/f.txt [0-9a-f]{12}, stored in local \\(9 B, sent 9 B\\)`));
  const text = bt.ok(['journal', '--type', 'SnapshotCommitted']);
  assert.is(text.trim().split('\n').length, 2);
  assert.is(bt.json<{ events: unknown[] }>(['journal', '--file', join(docs, 'f.txt')]).events.length, 4);
  assert.is(bt.json<{ events: unknown[] }>(['journal', '--until', cuts[0]!]).events.length, 4);
  assert.is(bt.json<{ events: unknown[] }>(['journal', '--since', cuts[0]!]).events.length, 2);
  const bad = bt.run(['journal', '--type', 'Nope']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /unknown event type "Nope"; use one of DirectoryTracked/);
});

test('restore of a whole tree never writes outside its target, whatever names the journal holds', () => {
  // The path check itself is unit-tested in test/unit/paths.test.ts; here a directory restore into a
  // target that already has files refuses to overwrite them without --force.
  const { bt, docs } = backedUpHome(1);
  const out = join(bt.home, 'out');
  bt.ok(['restore', docs, '--output', out]);
  writeFileSync(join(out, 'f.txt'), 'local edit');
  const again = bt.run(['restore', docs, '--output', out]);
  assert.is(again.code, 1);
  assert.match(again.stderr, /f\.txt: .*already exists; use --force to overwrite/);
  assert.is(readFileSync(join(out, 'f.txt'), 'utf8'), 'local edit');
  bt.ok(['restore', docs, '--output', out, '--force']);
  assert.is(readFileSync(join(out, 'f.txt'), 'utf8'), 'version 1');
  assert.equal(readdirSync(out), ['f.txt']);
});

test.run();
