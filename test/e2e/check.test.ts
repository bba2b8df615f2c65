// bt check: missing and corrupt objects are found, named with the versions they affect, and repaired.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BT_BIN, BtHome } from '../support/cli.js';
import { backedUpDir as backedUp, sha } from '../support/scenarios.js';
import { tempDir } from '../support/tmp.js';
import { useVaultAt } from '../support/vault-path.js';

const objectPath = (vault: string, id: string): string => join(vault, 'content', id.slice(0, 2), id);

test('check finds missing and corrupt objects, names the versions they affect, and repairs from the other vault', () => {
  const bt = new BtHome().init();
  const second = join(tempDir('bt-second'), 'vault');
  bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  bt.ok(['config', 'vault', 'init']);
  const d = backedUp(bt, { 'a.txt': 'alpha v1', 'b.txt': 'bravo' });
  writeFileSync(join(d, 'a.txt'), 'alpha v2');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);

  const clean = bt.run(['check', '--read-data']);
  assert.is(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /contents: 3 needed by snapshots, 6 object\(s\) checked \(read and verified\)\nno problems found/);

  // Lose one object from the first vault, flip bytes of another in the second.
  rmSync(objectPath(bt.vault, sha('alpha v1')));
  const corrupt = objectPath(second, sha('bravo'));
  chmodSync(corrupt, 0o600);
  writeFileSync(corrupt, 'bravX');
  const quick = bt.run(['check']);
  assert.is(quick.code, 4);
  assert.match(quick.stdout, new RegExp(`vault "local": ${sha('alpha v1')} missing\\n  affects ${d}/a.txt version 1`));
  assert.not.match(quick.stdout, /bravo|corrupt/, 'without --read-data only existence is checked');
  const deepRun = bt.run(['check', '--read-data', '--json']);
  assert.is(deepRun.code, 4);
  const deep = JSON.parse(deepRun.stdout) as { problems: { vault: string; contentId: string; problem: string; affects: { path: string; version: number }[] }[] };
  assert.equal(
    deep.problems.map((p) => [p.vault, p.contentId, p.problem, p.affects]).sort(),
    [
      ['local', sha('alpha v1'), 'missing', [{ path: `${d}/a.txt`, version: 1 }]],
      ['second', sha('bravo'), 'corrupt', [{ path: `${d}/b.txt`, version: 1 }]],
    ].sort(),
  );
  // Only one vault checked when asked.
  const onlySecond = JSON.parse(bt.run(['check', '--read-data', '--vault', 'second', '--json']).stdout) as { problems: { vault: string }[] };
  assert.equal(onlySecond.problems.map((p) => p.vault), ['second']);

  const repair = bt.run(['check', '--read-data', '--repair']);
  assert.is(repair.code, 0, repair.stdout + repair.stderr);
  assert.match(repair.stdout, /missing; REPAIRED from vault "second"/);
  assert.match(repair.stdout, /corrupt; REPAIRED from vault "local"/);
  assert.equal(readFileSync(objectPath(bt.vault, sha('alpha v1')), 'utf8'), 'alpha v1');
  assert.equal(readFileSync(corrupt, 'utf8'), 'bravo');
  assert.is(bt.run(['check', '--read-data']).code, 0);

  // A removed vault's name cannot be given to another vault: the journal says it holds these contents.
  const removed = bt.run(['config', 'vault', 'remove', 'second']);
  assert.is(removed.code, 0, removed.stderr);
  const other = join(tempDir('bt-other'), 'v');
  const unset = bt.run(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', other]);
  assert.is(unset.code, 1);
  assert.is(unset.stderr, `bt: error: a vault named "second" held backups of this host before, and ${other} could not be checked for them (vault "second": ${other} is not there (is its disk mounted?)); make it reachable (mount its disk, check the credentials) and add it again, or give the new vault another name\n`);
  // Set up, but another vault: refused, and the config keeps no trace of it.
  bt.ok(['config', 'vault', 'add', 'third', '--type', 'fs', '--path', other]);
  bt.ok(['config', 'vault', 'init']);
  bt.ok(['config', 'vault', 'remove', 'third']);
  const wrong = bt.run(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', other]);
  assert.is(wrong.code, 1);
  assert.is(wrong.stderr, `bt: error: a vault named "second" held backups of this host before, and ${other} is not that vault (none of 3 of its contents looked up is there); give the path of the vault that had that name, or give the new vault another name (the journal keeps what the old one held)\n`);
  assert.not.match(readFileSync(join(bt.home, '.config/bt.toml'), 'utf8'), /"second"/);
  // The vault itself, added back under its name, is accepted, even having lost an object meanwhile: check
  // names it and repairs it.
  rmSync(objectPath(second, sha('bravo')));
  const back = bt.run(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  assert.is(back.code, 0, back.stderr);
  assert.is(back.stderr, 'bt: vault "second": 1 of 3 contents looked up are not there; run `bt check --vault second` (with --repair to copy them from another vault)\n');
  assert.is(bt.run(['check', '--vault', 'second']).code, 4);
  const fixed = bt.run(['check', '--read-data', '--repair']);
  assert.is(fixed.code, 0, fixed.stdout + fixed.stderr);
  const again = bt.run(['check', '--read-data', '--vault', 'second']);
  assert.is(again.code, 0, again.stdout + again.stderr);
});

test('contents recorded only in a vault that is not in the config are reported as not checked (exit 1), not passed over', () => {
  const bt = new BtHome().init();
  const d = backedUp(bt, { 'a.txt': 'alpha', 'b.txt': 'bravo' });
  // The same vault configured again under another name, as after a recovery that did not keep the name.
  const cfg = join(bt.home, '.config/bt.toml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('name = "local"', 'name = "renamed"'));
  const r = bt.run(['check', '--json']);
  assert.is(r.code, 1, r.stderr);
  const out = JSON.parse(r.stdout) as { objectsChecked: number; unconfigured: { vault: string; contents: number }[] };
  assert.is(out.objectsChecked, 0);
  assert.equal(out.unconfigured, [{ vault: 'local', contents: 2, alsoElsewhere: 0 }]);
  // Asked by its new name: the journal records nothing there, which is said (exit 1), not "no problems".
  const named = bt.run(['check', '--vault', 'renamed']);
  assert.is(named.code, 1);
  assert.match(named.stdout, /\nvault "renamed": the journal records none of the 2 content\(s\) there; recorded in vaults not in the config: "local" \(if it is one of them, give it that name in bt.toml\)\n$/);
  const text = bt.run(['check']);
  assert.is(text.code, 1);
  assert.match(text.stdout, /vault "local": not in the config, 2 content\(s\) stored only there \(by the journal\) not checked; if a configured vault is that vault under another name, name it "local" in bt.toml\n$/);
  assert.not.match(text.stdout, /no problems found/);
  // Named as the journal knows it, everything is checked again.
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('name = "renamed"', 'name = "local"'));
  const back = bt.run(['check']);
  assert.is(back.code, 0);
  assert.match(back.stdout, /2 object\(s\) checked\nno problems found/);
  // A second vault holding them too, then renamed: its copies go unchecked, which is said (exit 0: each
  // content is verified in a configured vault), never "no problems found".
  const second = join(tempDir('bt-second'), 'vault');
  bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  bt.ok(['config', 'vault', 'init']);
  writeFileSync(join(d, 'c.txt'), 'charlie');
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  // That backup also copied the two older contents into "second" (ADR 0016): it holds all three.
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace('name = "second"', 'name = "second-renamed"'));
  const partly = bt.run(['check']);
  assert.is(partly.code, 0, partly.stdout);
  assert.match(partly.stdout, /\nvault "second": not in the config, 3 content\(s\) recorded there not checked \(a configured vault holds them too\); if a configured vault is that vault under another name, name it "second" in bt.toml\n$/);
});

test("this host's journal in a vault: a damaged last segment and a missing one are found by check and written again by --repair", () => {
  const bt = new BtHome().init();
  const d = backedUp(bt, { 'a.txt': 'alpha' });
  for (const [name, text] of [['b.txt', 'bravo'], ['c.txt', 'charlie']]) {
    writeFileSync(join(d, name!), text!);
    bt.ok(['add'], { cwd: d });
    bt.ok(['backup']);
  }
  const host = bt.json<{ host_id: string }>(['config', 'list']).host_id;
  const dir = join(bt.vault, 'metadata/hosts', host, 'journal');
  const segments = readdirSync(dir).sort();
  assert.is(segments.length, 3);
  const last = join(dir, segments[2]!);
  const lastBytes = readFileSync(last);
  // Bit rot in the last segment: a plain check reads it (as a sync would) and says so, exit 4.
  chmodSync(last, 0o600);
  writeFileSync(last, Buffer.concat([lastBytes.subarray(0, 20), Buffer.alloc(4), lastBytes.subarray(24)]));
  const found = bt.run(['check']);
  assert.is(found.code, 4);
  assert.match(found.stdout, new RegExp(`\\nvault "local": journal segment hosts/${host}/journal/${segments[2]!.replace(/\./g, '\\.')}: damaged \\(`));
  // A middle one gone: the listing shows the gap, and syncs stop at it.
  rmSync(join(dir, segments[1]!));
  writeFileSync(join(d, 'd.txt'), 'delta');
  bt.ok(['add'], { cwd: d });
  const stopped = bt.run(['backup']);
  assert.is(stopped.code, 1);
  assert.match(stopped.stdout, new RegExp(`\njournal -> vault "local": FAILED: journal segment with events \\d+\\.\\.\\d+ of host ${host} is missing \\(next is [^)]+\\); run \`bt check --repair\` to write it again from this journal\n`));
  const both = bt.run(['check', '--read-data']);
  assert.is(both.code, 4);
  assert.match(both.stdout, /: events \d+\.\.\d+ are missing \(no segment holds them\)\n/);
  const repaired = bt.run(['check', '--repair']);
  assert.is(repaired.code, 0, repaired.stdout);
  assert.is(repaired.stdout.match(/REPAIRED: written again from the local journal/g)?.length, 2);
  // Whole again: the sync goes on, verify agrees, and another machine recovers from it.
  bt.ok(['sync']);
  assert.match(bt.ok(['journal', 'verify']), /vault "local": \d+ event\(s\) match/);
  assert.match(bt.ok(['check', '--read-data']), /no problems found/);
  const fresh = new BtHome('bt-fresh').init();
  useVaultAt(fresh, bt.vault);
  fresh.ok(['recover']);
  assert.is(fresh.json<{ versions: unknown[] }>(['log', join(d, 'd.txt')]).versions.length, 1);
});

test("check --repair never fills a gap in this host id's journal in a vault with events of another machine using the same host id", () => {
  const a = new BtHome('bt-a').init();
  const d = backedUp(a, { 'a.txt': 'alpha' });
  for (const text of ['two', 'three']) {
    writeFileSync(join(d, 'a.txt'), text);
    a.ok(['add'], { cwd: d });
    a.ok(['backup']);
  }
  const host = a.json<{ host_id: string }>(['config', 'list']).host_id;
  const dir = join(a.vault, 'metadata/hosts', host, 'journal');
  const middle = readdirSync(dir).sort()[1]!;
  rmSync(join(dir, middle));
  // Another machine with a copy of this config (same host id, same vault) and a journal of its own.
  const b = new BtHome('bt-b');
  mkdirSync(join(b.home, '.config'), { recursive: true });
  const bConfig = join(b.home, '.config/bt.toml');
  writeFileSync(bConfig, readFileSync(join(a.home, '.config/bt.toml'), 'utf8').replaceAll(a.home, b.home));
  b.ok(['config', 'vault', 'init']);
  const e = join(b.work, 'e');
  mkdirSync(e);
  for (const args of [['dir', 'init'], ['add']]) b.ok(args, { cwd: e });
  for (const text of ['1', '2', '3', '4']) {
    writeFileSync(join(e, 'x.txt'), text);
    b.ok(['add'], { cwd: e });
  }
  // Then pointed at the first machine's vault.
  writeFileSync(bConfig, readFileSync(bConfig, 'utf8').replace(`path = "${join(b.home, 'data/bt/vault')}"`, `path = "${a.vault}"`));
  const fromB = b.run(['check', '--repair']);
  assert.is(fromB.code, 4, fromB.stdout);
  assert.match(fromB.stdout, /holds other events than this journal/);
  assert.not.match(fromB.stdout, /REPAIRED/);
  assert.not.ok(existsSync(join(dir, middle)), 'the gap is left for its own machine');
  // The machine whose journal it is mends it.
  const fromA = a.run(['check', '--repair']);
  assert.is(fromA.code, 0, fromA.stdout);
  assert.match(a.ok(['check', '--read-data']), /no problems found/);
});

test('removing the only vault that holds some contents says so; removing one whose contents are elsewhere too does not', () => {
  const bt = new BtHome().init();
  const d = backedUp(bt, { 'a.txt': 'alpha', 'b.txt': 'bravo' });
  const other = join(tempDir('bt-other'), 'vault');
  bt.ok(['config', 'vault', 'add', 'other', '--type', 'fs', '--path', other]);
  bt.ok(['config', 'vault', 'init']);
  const r = bt.run(['config', 'vault', 'remove', 'local', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.is((JSON.parse(r.stdout) as { contents_only_there: number }).contents_only_there, 2);
  assert.is(r.stderr, 'bt: vault "local" was the only one holding 2 content(s) that backed-up versions need: they cannot be restored or checked until it is added back under its name (`bt config vault add local` with its location)\n');
  // A restore says where the bytes are, not that they are corrupt (exit 4).
  const restore = bt.run(['restore', 'a.txt', '--output', join(bt.home, 'a.out')], { cwd: d });
  assert.is(restore.code, 1, restore.stderr);
  assert.match(restore.stderr, /^bt: error: content [0-9a-f]{12} is stored only in vault "local", which bt.toml does not configure \(the configured vaults lack it\); add it back under that name \(`bt config vault add local` with its location\), then retry\n$/);
  assert.not.ok(existsSync(join(bt.home, 'a.out')));
  const tree = bt.run(['restore', '.', '--output', join(bt.home, 'tree')], { cwd: d });
  assert.is(tree.code, 1, tree.stderr);
  assert.match(tree.stderr, /a\.txt: content [0-9a-f]{12} is stored only in vault "local"/);
  // A vault whose contents another configured vault holds too goes quietly.
  const bt2 = new BtHome().init();
  const second = join(tempDir('bt-second'), 'vault');
  bt2.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  bt2.ok(['config', 'vault', 'init']);
  backedUp(bt2, { 'c.txt': 'charlie' });
  const quiet = bt2.run(['config', 'vault', 'remove', 'second']);
  assert.is(quiet.code, 0);
  assert.is(quiet.stderr, '');
});

test('an object lost from every vault is reported with what it costs, and cannot be repaired', () => {
  const bt = new BtHome().init();
  const d = backedUp(bt, { 'only.txt': 'only copy' });
  rmSync(objectPath(bt.vault, sha('only copy')));
  writeFileSync(join(d, 'only.txt'), 'changed since'); // the file no longer holds those bytes either
  const r = bt.run(['check', '--repair']);
  assert.is(r.code, 4);
  assert.match(r.stdout, /missing; not repaired: no intact copy anywhere/);
  assert.match(r.stdout, new RegExp(`affects ${d}/only.txt version 1`));
  // In a pipe each problem is said on stderr as found too (the live view); on a terminal, where the report
  // comes to the same screen, once.
  assert.match(r.stderr, /^bt: vault "local": content [0-9a-f]{12} is missing\n/);
  const onTty = spawnSync('script', ['-qec', `${process.execPath} ${BT_BIN} check`, '/dev/null'], { cwd: d, env: bt.env, encoding: 'utf8' }).stdout;
  assert.is(onTty.match(/missing/g)?.length, 1, onTty);
  assert.match(onTty, /vault "local": [0-9a-f]{64} missing\r\n/);
  const restore = bt.run(['restore', 'only.txt', '--output', join(bt.home, 'x')], { cwd: d });
  // Every vault answered and none has an intact copy: corruption, exit 4 as check gives.
  assert.is(restore.code, 4);
  assert.match(restore.stderr, /could not be read from any vault: vault "local": object content\/[0-9a-f]{64} is missing; run `bt check --read-data` to see what else it affects\n$/);
});

test('an object cut short is corrupt for plain check, and a backup of the same content stores it again instead of deduplicating against it', () => {
  const bt = new BtHome().init();
  const body = 'x'.repeat(50_000);
  const d = backedUp(bt, { 'big.txt': body });
  const object = objectPath(bt.vault, sha(body));
  chmodSync(object, 0o600);
  truncateSync(object, 1000);
  const r = bt.run(['check']);
  assert.is(r.code, 4);
  assert.match(r.stdout, new RegExp(`vault "local": ${sha(body)} corrupt\n  affects ${d}/big.txt version 1\n`));
  // The same content again (another host's copy, say): stored again, not "deduplicated" against the stub.
  writeFileSync(join(d, 'copy.txt'), body);
  bt.ok(['add'], { cwd: d });
  const b = bt.json<{ files: number; bytes_sent: number; bytes_deduped: number }>(['backup']);
  assert.equal([b.files, b.bytes_sent, b.bytes_deduped], [1, 50_000, 0]);
  assert.is(readFileSync(object, 'utf8'), body);
  assert.is(bt.run(['check']).code, 0);
});

test('a backup whose content a vault should hold asks it first: a lost object is stored again from the staged copy', () => {
  const bt = new BtHome().init();
  const d = backedUp(bt, { 'one.txt': 'content one', 'two.txt': 'content two' });
  rmSync(objectPath(bt.vault, sha('content two')));
  // Copies of both: one content is where the projections say, the other is gone from the vault.
  writeFileSync(join(d, 'copy-one.txt'), 'content one');
  writeFileSync(join(d, 'copy-two.txt'), 'content two');
  bt.ok(['add'], { cwd: d });
  const b = bt.json<{ files: number; bytes_sent: number; bytes_deduped: number }>(['backup']);
  assert.equal([b.files, b.bytes_sent, b.bytes_deduped], [2, 11, 11]);
  assert.equal(readFileSync(objectPath(bt.vault, sha('content two')), 'utf8'), 'content two');
  const check = bt.run(['check', '--read-data']);
  assert.is(check.code, 0, check.stdout);
  bt.ok(['restore', 'two.txt', '--output', join(bt.home, 'two.out')], { cwd: d });
  assert.is(readFileSync(join(bt.home, 'two.out'), 'utf8'), 'content two');
});

test('a vault lost and set up again is refilled by check --repair from the files that still hold the bytes', () => {
  const bt = new BtHome().init();
  const d = backedUp(bt, { 'same.txt': 'unchanged since the backup', 'edited.txt': 'version one' });
  rmSync(bt.vault, { recursive: true, force: true });
  // Set up again on purpose: without --force an unmarked vault the journal records contents in is refused (a disk not mounted?).
  assert.is(bt.run(['config', 'vault', 'init']).code, 1);
  bt.ok(['config', 'vault', 'init', '--force']);
  writeFileSync(join(d, 'edited.txt'), 'version two, not backed up');
  const r = bt.run(['check', '--repair']);
  assert.is(r.code, 4);
  assert.match(r.stdout, new RegExp(`missing; REPAIRED from ${d}/same.txt, which still holds those bytes`));
  assert.match(r.stdout, /missing; not repaired: no intact copy anywhere \(no staged copy, no vault with it or each of its chunks intact, no file of this host that still has it; another host sharing the vault may have one: run `bt check --repair` there\)/);
  assert.equal(readFileSync(objectPath(bt.vault, sha('unchanged since the backup')), 'utf8'), 'unchanged since the backup');
  const again = bt.run(['check', '--read-data']);
  assert.is(again.code, 4);
  assert.match(again.stdout, new RegExp(`affects ${d}/edited.txt version 1`));
  assert.not.match(again.stdout, /same\.txt/);
});

test('a tree restore with a damaged object restores the rest, names the file and exits 4 (corruption found)', () => {
  const bt = new BtHome().init();
  const d = backedUp(bt, { 'good.txt': 'good bytes', 'bad.txt': 'bytes to be damaged' });
  const object = objectPath(bt.vault, sha('bytes to be damaged'));
  chmodSync(object, 0o600);
  writeFileSync(object, 'bytes to be damaged!');
  const out = join(bt.home, 'tree');
  const r = bt.run(['restore', '.', '--output', out, '--json'], { cwd: d });
  assert.is(r.code, 4);
  const result = JSON.parse(r.stdout) as { files: number; damaged: number; failed: { path: string; reason: string }[] };
  assert.equal([result.files, result.damaged, result.failed.map((f) => f.path)], [1, 1, ['bad.txt']]);
  assert.match(result.failed[0]!.reason, /object content\/[0-9a-f]{64} is corrupt/);
  assert.is(readFileSync(join(out, 'good.txt'), 'utf8'), 'good bytes');
  assert.not.ok(existsSync(join(out, 'bad.txt')));
});

test('recovered onto a machine whose new vault took the old name: --repair fills it from the old vault, added under another name', () => {
  const lost = new BtHome('bt-lost').init();
  backedUp(lost, { 'a.txt': 'alpha', 'b.txt': 'bravo' });
  const fresh = new BtHome('bt-fresh').init();
  // `bt config init` made a new, empty "local"; the old disk is added as "old". The journal says "local".
  fresh.ok(['config', 'vault', 'add', 'old', '--type', 'fs', '--path', lost.vault]);
  fresh.ok(['recover', '--vault', 'old']);
  const found = fresh.run(['check']);
  assert.is(found.code, 4);
  assert.match(found.stdout, /vault "local": [0-9a-f]{64} missing\n  affects .*a\.txt version 1/);
  const repaired = fresh.run(['check', '--repair']);
  assert.is(repaired.code, 0, repaired.stdout);
  assert.is(repaired.stdout.match(/REPAIRED from vault "old"/g)?.length, 2);
  assert.match(fresh.ok(['check', '--read-data']), /no problems found/);
  for (const body of ['alpha', 'bravo']) {
    const id = sha(body);
    assert.is(readFileSync(join(fresh.vault, 'content', id.slice(0, 2), id), 'utf8'), body);
  }
});

test.run();
