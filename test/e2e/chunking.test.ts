// Large files are chunked in the vault (ADR 0012): a small change to a 1 GiB file stores a few MiB, two hosts
// share chunks, an interrupted backup resends only what is missing. Real binary, temporary HOME, filesystem vault.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, createReadStream, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { join } from 'node:path';
import { keystream } from '../../bench/corpus.js';
import { insertAt, writeAt, writeKeystream } from '../../bench/edits.js';
import { BtHome } from '../support/cli.js';
import { listFiles, stagedCopies } from '../support/files.js';
import { runInterrupted } from '../support/crash.js';
import { tempDir } from '../support/tmp.js';
import { useVaultAt } from '../support/vault-path.js';

const MiB = 1024 * 1024;
/** The case is a 1 GiB file; BT_CHUNK_TEST_MIB makes it smaller on a slow machine. */
const BIG = Number(process.env.BT_CHUNK_TEST_MIB ?? 1024) * MiB;

async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 8 * MiB })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** Bytes of every file under a directory: what the vault holds on disk. */
function treeBytes(dir: string): number {
  return listFiles(dir).reduce((n, f) => n + statSync(join(dir, f)).size, 0);
}

interface Backup {
  readonly files: number;
  readonly bytes_sent: number;
}

test(`a ${BIG / MiB} MiB file: an append, an insertion and an overwrite each store a few MiB; every version restores`, async () => {
  const bt = new BtHome('bt-chunking').init();
  const d = join(bt.work, 'big');
  mkdirSync(d);
  const file = join(d, 'disk.img');
  try {
    const started = Date.now();
    writeKeystream(file, BIG, 4242);
    bt.ok(['dir', 'init'], { cwd: d });
    const versions: string[] = [await sha256File(file)];
    bt.ok(['add'], { cwd: d });
    const first = bt.json<Backup>(['backup']);
    assert.is(first.bytes_sent, BIG);
    const chunks = listFiles(join(bt.vault, 'chunks')).length;
    assert.ok(chunks > BIG / (4 * MiB) && chunks < BIG / MiB, `${chunks} chunks`);
    assert.equal(listFiles(join(bt.vault, 'content')), [], 'a large file is not stored whole');
    assert.equal(stagedCopies(join(bt.home, 'data/bt/staging')), [], 'the chunk directory left the staging area');
    const journal = bt.json<{ events: { type: string; data: { stored: { vault: string; chunks: number | null }[] } }[] }>(['journal', '--type', 'SnapshotCommitted']);
    assert.equal(journal.events.map((e) => e.data.stored), [[{ vault: 'local', sent: BIG, chunks }]]);

    const changes: [string, () => void][] = [
      ['append 1 KiB', () => writeAt(file, statSync(file).size, keystream(1, 1024))],
      ['insert 1 KiB in the middle', () => insertAt(file, Math.floor(BIG / 2) + 12_345, keystream(2, 1024))],
      ['overwrite 4 KiB in place', () => writeAt(file, Math.floor(BIG * 0.7) + 999, keystream(3, 4096))],
    ];
    for (const [what, change] of changes) {
      change();
      versions.push(await sha256File(file));
      const before = treeBytes(bt.vault);
      bt.ok(['add'], { cwd: d });
      // The chunks of the backed-up version are not staged again: only the changed ones are written.
      const staged = treeBytes(join(bt.home, 'data/bt/staging'));
      assert.ok(staged > 0 && staged < 16 * MiB, `${what}: ${staged} bytes staged`);
      const b = bt.json<Backup>(['backup']);
      const grown = treeBytes(bt.vault) - before;
      console.log(`    ${what}: ${(b.bytes_sent / MiB).toFixed(2)} MiB sent, vault grew ${(grown / MiB).toFixed(2)} MiB`);
      assert.is(b.files, 1, what);
      assert.ok(b.bytes_sent > 0 && b.bytes_sent < 16 * MiB, `${what}: ${b.bytes_sent} bytes sent`);
      assert.ok(grown > 0 && grown < 16 * MiB, `${what}: the vault grew by ${grown} bytes`);
    }

    const check = bt.run(['check', '--read-data']);
    assert.is(check.code, 0, check.stdout + check.stderr);
    for (const [i, expected] of versions.entries()) {
      const out = join(bt.home, 'restored.img');
      bt.ok(['restore', 'disk.img', '--version', String(i + 1), '--output', out], { cwd: d });
      assert.is(await sha256File(out), expected, `version ${i + 1}`);
      rmSync(out);
    }
    console.log(`    ${BIG / MiB} MiB, 4 versions: ${((Date.now() - started) / 1000).toFixed(0)} s`);
  } finally {
    rmSync(d, { recursive: true, force: true });
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('two hosts with the same large file store its chunks once; a changed copy adds only its new chunks', () => {
  const vault = join(tempDir('bt-shared-vault'), 'vault');
  const [a, b] = [new BtHome('bt-host-a').init(), new BtHome('bt-host-b').init()];
  useVaultAt(a, vault);
  useVaultAt(b, vault);
  const size = 96 * MiB + 5;
  try {
    for (const host of [a, b]) {
      const d = join(host.work, 'vm');
      mkdirSync(d);
      writeKeystream(join(d, 'image.qcow2'), size, 77);
      host.ok(['dir', 'init'], { cwd: d });
      host.ok(['add'], { cwd: d });
    }
    assert.is(a.json<Backup>(['backup']).bytes_sent, size);
    const chunks = listFiles(join(vault, 'chunks')).length;
    const second = b.json<Backup & { bytes_deduped: number }>(['backup']);
    assert.equal([second.files, second.bytes_sent, second.bytes_deduped], [1, 0, size]);
    assert.is(listFiles(join(vault, 'chunks')).length, chunks, 'no chunk stored twice');

    // Host b changes its copy a little: the vault gains the changed chunk(s), not the file.
    const d = join(b.work, 'vm');
    writeAt(join(d, 'image.qcow2'), 40 * MiB, keystream(5, 4096));
    b.ok(['add'], { cwd: d });
    const changed = b.json<Backup>(['backup']);
    assert.ok(changed.bytes_sent > 0 && changed.bytes_sent < 16 * MiB, `${changed.bytes_sent} bytes`);
    const added = listFiles(join(vault, 'chunks')).length - chunks;
    assert.ok(added >= 1 && added <= 2, `${added} new chunks`);
    assert.is(a.run(['check', '--read-data']).code, 0);
    assert.is(b.run(['check', '--read-data']).code, 0);
  } finally {
    for (const host of [a, b]) rmSync(host.home, { recursive: true, force: true });
    rmSync(vault, { recursive: true, force: true });
  }
});

test('an add or a backup killed in the middle of a chunked file: the next run finishes it, resending only the chunks the vault lacks', async () => {
  const bt = new BtHome('bt-chunk-kill').init();
  const d = join(bt.work, 'big');
  mkdirSync(d);
  const file = join(d, 'video.mp4');
  const size = 128 * MiB + 321;
  try {
    writeKeystream(file, size, 99);
    const expected = await sha256File(file);
    bt.ok(['dir', 'init'], { cwd: d });
    // An add killed while it chunks the file, or after the chunk directory is complete but before the journal
    // says so, leaves an orphan directory that the next add removes and writes again.
    let addKills = 0;
    for (const how of [{ afterMs: 250 }, { fault: 'stage:1' }]) {
      const r = runInterrupted(bt, ['add'], d, how);
      assert.ok(r.signal === 'SIGKILL' || r.code === 0, JSON.stringify(r));
      if (r.signal === 'SIGKILL') addKills++;
    }
    assert.ok(addKills >= 1, 'an add was killed');
    const staged = bt.json<{ staged: number }>(['add'], { cwd: d }).staged;
    assert.ok(staged <= 1);
    assert.is(stagedCopies(join(bt.home, 'data/bt/staging')).length, 1, 'one chunk directory, no orphans');
    const killed = runInterrupted(bt, ['backup'], d, { fault: 'chunk:20' });
    assert.is(killed.signal, 'SIGKILL');
    const stored = treeBytes(join(bt.vault, 'chunks'));
    assert.ok(stored > 0 && stored < size, `${stored} bytes of chunks stored before the kill`);
    assert.equal(listFiles(join(bt.vault, 'manifests')), [], 'no manifest before every chunk is stored');

    const resumed = bt.json<Backup>(['backup']);
    assert.is(resumed.files, 1);
    assert.is(resumed.bytes_sent, size - stored, 'only the chunks still missing were sent');
    assert.equal(stagedCopies(join(bt.home, 'data/bt/staging')), []);
    assert.is(bt.run(['check', '--read-data']).code, 0);
    const out = join(bt.home, 'restored.mp4');
    bt.ok(['restore', 'video.mp4', '--output', out], { cwd: d });
    assert.is(await sha256File(out), expected);
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

/** A host that has backed up one large deterministic file, vm/disk.raw, in a tracked directory. */
function backedUpDisk(label: string, size: number, seed: number): { bt: BtHome; d: string; file: string } {
  const bt = new BtHome(label).init();
  const d = join(bt.work, 'vm');
  mkdirSync(d);
  const file = join(d, 'disk.raw');
  writeKeystream(file, size, seed);
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  return { bt, d, file };
}

test('a vault added between add and backup gets the chunks the staged copy left out from the vault that has them, and the older version chunked', async () => {
  const size = 40 * MiB + 7;
  const { bt, d, file } = backedUpDisk('bt-chunk-newvault', size, 55);
  try {
    const v1 = await sha256File(file);
    writeAt(file, 20 * MiB, keystream(6, 4096));
    const v2 = await sha256File(file);
    bt.ok(['add'], { cwd: d });
    const stagingDir = join(bt.home, 'data/bt/staging');
    const staged = treeBytes(stagingDir);
    assert.ok(staged > 0 && staged < 16 * MiB, `${staged} bytes staged`);

    // The new vault holds nothing yet: the chunks left out of the staged copy come from "local".
    const second = join(tempDir('bt-chunk-newvault-second'), 'vault');
    bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
    bt.ok(['config', 'vault', 'init']);
    const b = bt.json<Backup>(['backup']);
    assert.is(b.files, 1);
    assert.ok(b.bytes_sent >= size && b.bytes_sent < size + 16 * MiB, `${b.bytes_sent} bytes sent (all of it to "second")`);
    assert.equal(stagedCopies(stagingDir), []);
    assert.is(bt.run(['check', '--read-data', '--vault', 'second']).code, 0);
    // The same backup copied the first version in (ADR 0016), chunked as "local" holds it: the two versions
    // share their chunks in "second" too, and no object there is larger than a chunk.
    assert.ok(existsSync(join(second, 'manifests', v1.slice(0, 2), v1)), 'v1 stored chunked');
    assert.not.ok(existsSync(join(second, 'content', v1.slice(0, 2), v1)), 'v1 not stored whole');
    const chunkBytes = treeBytes(join(second, 'chunks'));
    assert.ok(chunkBytes >= size && chunkBytes < size + 16 * MiB, `${chunkBytes} bytes of chunks for two versions`);
    assert.ok(Math.max(...listFiles(second).map((f) => statSync(join(second, f)).size)) <= 8 * MiB);
    assert.equal(readdirSync(stagingDir).filter((n) => n.startsWith('.bt-restore-')), []);

    // With the first vault gone, both versions restore from "second" alone, byte for byte.
    renameSync(bt.vault, `${bt.vault}.gone`);
    const out = join(bt.home, 'restored.raw');
    const r = bt.run(['restore', 'disk.raw', '--output', out], { cwd: d });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /from vault "second"/);
    assert.is(await sha256File(out), v2);
    assert.is.not(v1, v2);
    const old = join(bt.home, 'restored-v1.raw');
    const r1 = bt.run(['restore', 'disk.raw', '--version', '1', '--output', old], { cwd: d });
    assert.is(r1.code, 0, r1.stderr);
    assert.match(r1.stdout, /from vault "second"/);
    assert.is(await sha256File(old), v1);
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('a chunk the staged copy left out and the vault lost since is read back from the file; if the file changed too, the next add stages it', async () => {
  const { bt, d, file } = backedUpDisk('bt-chunk-lost', 40 * MiB + 3, 66);
  const stagingDir = join(bt.home, 'data/bt/staging');
  try {
    // The staged manifest lists the chunks; the ones not in the staged directory are the vault's.
    const leftOut = (): string[] => {
      const [id] = stagedCopies(stagingDir);
      const stage = join(stagingDir, id!.slice(-1), id!);
      const m = JSON.parse(readFileSync(join(stage, 'manifest.json'), 'utf8')) as { chunks: [string, number][] };
      const present = new Set(readdirSync(stage));
      return m.chunks.map(([id]) => id).filter((id) => !present.has(id));
    };
    const chunkFile = (id: string): string => join(bt.vault, 'chunks', id.slice(0, 2), id);

    // Lost between add and backup, the file unchanged: backup reads the chunk from the file.
    writeAt(file, 10 * MiB, keystream(7, 4096));
    const v2 = await sha256File(file);
    bt.ok(['add'], { cwd: d });
    const lost = leftOut()[0]!;
    rmSync(chunkFile(lost));
    const b = bt.json<Backup>(['backup']);
    assert.is(b.files, 1);
    assert.ok(statSync(chunkFile(lost)).size > 0, 'the lost chunk is stored again');
    assert.is(bt.run(['check', '--read-data']).code, 0);
    const out = join(bt.home, 'v2.raw');
    bt.ok(['restore', 'disk.raw', '--output', out], { cwd: d });
    assert.is(await sha256File(out), v2);

    // Lost, and the file changed before the backup: the version stays staged with a clear message; the next
    // add stages the changed file with the lost chunk in it (only chunks present in every vault are left out).
    writeAt(file, 30 * MiB, keystream(8, 4096));
    bt.ok(['add'], { cwd: d });
    const gone = leftOut().find((id) => id !== lost)!;
    rmSync(chunkFile(gone));
    // Change the file inside that chunk's bytes: the file no longer holds it either.
    const [id] = stagedCopies(stagingDir);
    const m = JSON.parse(readFileSync(join(stagingDir, id!.slice(-1), id!, 'manifest.json'), 'utf8')) as { chunks: [string, number][] };
    let at = 0;
    for (const [id, n] of m.chunks) {
      if (id === gone) break;
      at += n;
    }
    writeAt(file, at + 100, keystream(9, 4096));
    const failed = bt.run(['backup']);
    assert.is.not(failed.code, 0);
    assert.match(failed.stdout + failed.stderr, /no vault has it intact now and the file no longer holds it/);
    assert.is(stagedCopies(stagingDir).length, 1, 'kept staged');
    bt.ok(['add'], { cwd: d });
    assert.not.ok(leftOut().includes(gone), 'the lost chunk is staged this time');
    bt.ok(['backup']);
    assert.equal(stagedCopies(stagingDir), []);
    // The earlier versions that had the lost chunk are damaged, and bt check says which.
    const check = bt.run(['check', '--read-data']);
    assert.is(check.code, 4);
    assert.match(check.stdout, new RegExp(`missing \\(chunks/${gone}\\)`));
    assert.not.match(check.stdout, new RegExp(`chunks/${lost}`), 'the chunk read back from the file is whole again');
    const v4 = await sha256File(file);
    bt.ok(['restore', 'disk.raw', '--output', join(bt.home, 'v4.raw')], { cwd: d });
    assert.is(await sha256File(join(bt.home, 'v4.raw')), v4);
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('a chunk the vault lost or holds cut short is stored again by the next backup that has it in hand, not left out of a new version', async () => {
  const { bt, d, file } = backedUpDisk('bt-chunk-carried', 24 * MiB + 5, 77);
  try {
    const chunks = (name: string): string[] => {
      const id = bt.json<{ versions: { checksum: string }[] }>(['log', name], { cwd: d }).versions[0]!.checksum;
      const manifest = JSON.parse(readFileSync(join(bt.vault, 'manifests', id.slice(0, 2), id), 'utf8')) as { chunks: [string, number][] };
      return manifest.chunks.map(([c]) => c);
    };
    const chunkPath = (id: string): string => join(bt.vault, 'chunks', id.slice(0, 2), id);
    const v1 = await sha256File(file);

    // Lost, then a copy of the same file: its content is stored already, but not whole. The copy's
    // backup puts the chunk back (it has it in hand) instead of recording a version that names it.
    const lost = chunks('disk.raw')[1]!;
    rmSync(chunkPath(lost));
    copyFileSync(file, join(d, 'copy.raw'));
    bt.ok(['add'], { cwd: d });
    assert.is(bt.json<Backup>(['backup']).files, 1);
    assert.ok(existsSync(chunkPath(lost)), 'the lost chunk is stored again');
    const afterCopy = bt.run(['check']);
    assert.is(afterCopy.code, 0, afterCopy.stdout);

    // Cut short (a crash mid-write, a disk that lost a block): a check without --read-data sees the length.
    const cut = chunks('disk.raw')[2]!;
    chmodSync(chunkPath(cut), 0o600);
    truncateSync(chunkPath(cut), 1000);
    const quick = bt.run(['check']);
    assert.is(quick.code, 4);
    assert.match(quick.stdout, new RegExp(`vault "local": [0-9a-f]{64} corrupt \\(chunks/${cut}\\)\n  affects ${d}/copy.raw version 1`));
    // A change elsewhere in the file: bt add stages the damaged chunk again, as one the vault lacks.
    writeAt(file, 20 * MiB, keystream(12, 4096));
    const v2 = await sha256File(file);
    bt.ok(['add'], { cwd: d });
    assert.is(bt.json<Backup>(['backup']).files, 1);
    assert.is(statSync(chunkPath(cut)).size > 1000, true, 'the chunk is whole again');
    const deep = bt.run(['check', '--read-data']);
    assert.is(deep.code, 0, deep.stdout);
    for (const [name, version, sha] of [['disk.raw', '1', v1], ['disk.raw', '2', v2], ['copy.raw', '1', v1]] as const) {
      const out = join(bt.home, `${name}.${version}`);
      bt.ok(['restore', name, '--version', version, '--output', out], { cwd: d });
      assert.is(await sha256File(out), sha, `${name} version ${version}`);
    }
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('a staged chunk directory that lost its manifest is dropped once, with a message, and the next add stages the file again', async () => {
  const bt = new BtHome('bt-chunk-nomanifest').init();
  try {
    const d = join(bt.work, 'vm');
    mkdirSync(d);
    const file = join(d, 'disk.raw');
    writeKeystream(file, 20 * MiB + 9, 88);
    bt.ok(['dir', 'init'], { cwd: d });
    bt.ok(['add'], { cwd: d });
    const staging = join(bt.home, 'data/bt/staging');
    const [id] = stagedCopies(staging);
    rmSync(join(staging, id!.slice(-1), id!, 'manifest.json'));
    const r = bt.run(['backup', '--json']);
    assert.is(r.code, 1);
    const result = JSON.parse(r.stdout) as { files: number; failed: unknown[]; dropped: { path: string; reason: string }[] };
    assert.equal([result.files, result.failed], [0, []]);
    assert.equal(result.dropped, [{ path: file, reason: 'its staged copy is damaged: the stage is dropped; run `bt add` to stage the file again' }]);
    // Not stuck: the unchanged file is staged again, then backed up; the damaged directory is swept.
    assert.is(bt.json<{ staged: number }>(['add'], { cwd: d }).staged, 1);
    assert.is(bt.json<Backup>(['backup']).files, 1);
    assert.equal(stagedCopies(staging), []);
    const out = join(bt.home, 'out.raw');
    bt.ok(['restore', 'disk.raw', '--output', out], { cwd: d });
    assert.is(await sha256File(out), await sha256File(file));
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('a vault that holds a content but cannot take back its lost chunk keeps the version staged with the chunk in hand', async () => {
  const { bt, d, file } = backedUpDisk('bt-chunk-unconfirmed', 20 * MiB + 17, 111);
  try {
    const id = bt.json<{ versions: { checksum: string }[] }>(['log', 'disk.raw'], { cwd: d }).versions[0]!.checksum;
    const lost = (JSON.parse(readFileSync(join(bt.vault, 'manifests', id.slice(0, 2), id), 'utf8')) as { chunks: [string, number][] }).chunks[1]![0];
    const chunkPath = join(bt.vault, 'chunks', lost.slice(0, 2), lost);
    rmSync(chunkPath);
    copyFileSync(file, join(d, 'copy.raw'));
    bt.ok(['add'], { cwd: d });
    // Something in the way of that chunk: the vault answers, but cannot take it.
    mkdirSync(join(chunkPath, 'in-the-way'), { recursive: true });
    const r = bt.run(['backup', '--json']);
    assert.is(r.code, 1, r.stdout);
    assert.equal((JSON.parse(r.stdout) as { files: number; failed: unknown[] }).files, 0);
    assert.is(stagedCopies(join(bt.home, 'data/bt/staging')).length, 1, 'the copy with the chunk is kept');
    rmSync(chunkPath, { recursive: true });
    assert.is(bt.json<Backup>(['backup']).files, 1);
    const out = join(bt.home, 'copy.out');
    bt.ok(['restore', 'copy.raw', '--output', out], { cwd: d });
    assert.is(await sha256File(out), await sha256File(file));
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('check --repair of a chunk two versions share: one repair mends both, and the report says so', async () => {
  const { bt, d, file } = backedUpDisk('bt-chunk-shared', 20 * MiB + 11, 99);
  try {
    writeAt(file, statSync(file).size, keystream(13, 100));
    bt.ok(['add'], { cwd: d });
    bt.ok(['backup']);
    // The first chunk is in both versions; only the file's current bytes (version 2) can give it back.
    const id = bt.json<{ versions: { checksum: string }[] }>(['log', 'disk.raw'], { cwd: d }).versions[0]!.checksum;
    const manifest = JSON.parse(readFileSync(join(bt.vault, 'manifests', id.slice(0, 2), id), 'utf8')) as { chunks: [string, number][] };
    const shared = join(bt.vault, 'chunks', manifest.chunks[0]![0].slice(0, 2), manifest.chunks[0]![0]);
    chmodSync(shared, 0o600);
    writeAt(shared, 7, Buffer.from('X'));
    const r = bt.run(['check', '--read-data', '--repair']);
    assert.is(r.code, 0, r.stdout);
    assert.match(r.stdout, /corrupt \(chunks\/[0-9a-f]{64}\); REPAIRED from .*disk\.raw, which still holds those bytes/);
    assert.match(r.stdout, /corrupt \(chunks\/[0-9a-f]{64}\); REPAIRED by another repair \(a chunk it shares\)/);
    assert.is(bt.run(['check', '--read-data']).code, 0);
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('each of two vaults lost another chunk of a file: restore and check --repair put it together chunk by chunk', async () => {
  const bt = new BtHome('bt-chunk-split').init();
  try {
    const second = join(tempDir('bt-chunk-split-second'), 'vault');
    bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
    bt.ok(['config', 'vault', 'init']);
    const d = join(bt.work, 'vm');
    mkdirSync(d);
    const file = join(d, 'disk.raw');
    writeKeystream(file, 24 * MiB + 13, 101);
    const original = await sha256File(file);
    bt.ok(['dir', 'init'], { cwd: d });
    bt.ok(['add'], { cwd: d });
    bt.ok(['backup']);
    const id = bt.json<{ versions: { checksum: string }[] }>(['log', 'disk.raw'], { cwd: d }).versions[0]!.checksum;
    const chunks = (JSON.parse(readFileSync(join(bt.vault, 'manifests', id.slice(0, 2), id), 'utf8')) as { chunks: [string, number][] }).chunks.map(([c]) => c);
    rmSync(join(bt.vault, 'chunks', chunks[1]!.slice(0, 2), chunks[1]!));
    rmSync(join(second, 'chunks', chunks[3]!.slice(0, 2), chunks[3]!));
    rmSync(file);
    const out = join(bt.home, 'out.raw');
    const r = bt.run(['restore', 'disk.raw', '--output', out], { cwd: d });
    assert.is(r.code, 0, r.stderr);
    assert.match(r.stdout, /from vault "local \+ second"/);
    assert.is(await sha256File(out), original);
    const repair = bt.run(['check', '--repair']);
    assert.is(repair.code, 0, repair.stdout);
    assert.is(repair.stdout.match(/REPAIRED chunk by chunk from the vaults that hold each intact/g)?.length, 2);
    assert.is(bt.run(['check', '--read-data']).code, 0);
  } finally {
    rmSync(bt.home, { recursive: true, force: true });
  }
});

test('bt check finds a lost and a damaged chunk, names them, and repairs them from the other vault', () => {
  const bt = new BtHome('bt-chunk-check').init();
  const second = join(tempDir('bt-chunk-second'), 'vault');
  bt.ok(['config', 'vault', 'add', 'second', '--type', 'fs', '--path', second]);
  bt.ok(['config', 'vault', 'init']);
  const d = join(bt.work, 'media');
  mkdirSync(d);
  writeKeystream(join(d, 'a.mov'), 24 * MiB + 1, 31);
  writeKeystream(join(d, 'b.mov'), 20 * MiB + 2, 32);
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  assert.is(bt.run(['check', '--read-data']).code, 0);

  // Lose a chunk of a.mov from the first vault; flip a byte of a chunk of b.mov in the second.
  const chunksOf = (vault: string, file: string): string[] => {
    const id = bt.json<{ versions: { checksum: string }[] }>(['log', file], { cwd: d }).versions[0]!.checksum;
    const manifest = JSON.parse(readFileSync(join(vault, 'manifests', id.slice(0, 2), id), 'utf8')) as { chunks: [string, number][] };
    return manifest.chunks.map(([c]) => c);
  };
  const lost = chunksOf(bt.vault, 'a.mov')[2]!;
  rmSync(join(bt.vault, 'chunks', lost.slice(0, 2), lost));
  const bad = chunksOf(second, 'b.mov')[1]!;
  const badPath = join(second, 'chunks', bad.slice(0, 2), bad);
  chmodSync(badPath, 0o600);
  writeAt(badPath, 1000, Buffer.from([0x42]));

  const quick = bt.run(['check']);
  assert.is(quick.code, 4);
  assert.match(quick.stdout, new RegExp(`vault "local": [0-9a-f]{64} missing \\(chunks/${lost}\\)\n  affects ${d}/a.mov version 1`));
  assert.not.match(quick.stdout, /corrupt/, 'a damaged chunk is found only by reading it');
  const deep = bt.run(['check', '--read-data']);
  assert.is(deep.code, 4);
  assert.match(deep.stdout, new RegExp(`vault "second": [0-9a-f]{64} corrupt \\(chunks/${bad}\\)\n  affects ${d}/b.mov version 1`));

  const repair = bt.run(['check', '--read-data', '--repair']);
  assert.is(repair.code, 0, repair.stdout + repair.stderr);
  assert.match(repair.stdout, /missing \(chunks\/[0-9a-f]{64}\); REPAIRED from vault "second"/);
  assert.match(repair.stdout, /corrupt \(chunks\/[0-9a-f]{64}\); REPAIRED from vault "local"/);
  assert.is(bt.run(['check', '--read-data']).code, 0);
  rmSync(d, { recursive: true, force: true });
});

test.run();
