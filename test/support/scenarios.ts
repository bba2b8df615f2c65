// Reusable end-to-end scenarios, run against any vault a setup function configures.
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import * as assert from 'uvu/assert';
import { BtHome } from './cli.js';
import { listFiles } from './files.js';

export const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A tracked directory `name` in the home's work area holding `files`, added and backed up; its path. */
export function backedUpDir(bt: BtHome, files: Record<string, string>, name = 'docs'): string {
  const d = join(bt.work, name);
  mkdirSync(d);
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(d, file)), { recursive: true });
    writeFileSync(join(d, file), text);
  }
  bt.ok(['dir', 'init'], { cwd: d });
  bt.ok(['add'], { cwd: d });
  bt.ok(['backup']);
  return d;
}

interface Version {
  readonly bytes: Buffer;
  readonly mode: number;
  readonly mtimeNs: bigint;
  readonly stagedAfter: string;
}

/**
 * Three backups of several files, then the whole HOME is deleted; a new HOME whose config points at the
 * same vault runs `bt recover`. Every log must match and every version restore identically.
 */
export function loseEverythingAndRecover(configureVault: (bt: BtHome) => void, extraEnv: Record<string, string> = {}): void {
  const bt = new BtHome('bt-lost', extraEnv).init();
  configureVault(bt);
  const docs = join(bt.work, 'docs');
  mkdirSync(join(docs, 'sub/deeper'), { recursive: true });
  bt.ok(['dir', 'init'], { cwd: docs });
  const names = ['a.txt', 'sub/b.bin', 'sub/deeper/c.md', 'gone.txt'];
  const history = new Map<string, Version[]>();
  const cut: string[] = [];
  for (let round = 1; round <= 3; round++) {
    for (const [i, name] of names.entries()) {
      if (name === 'gone.txt' && round === 3) {
        rmSync(join(docs, name));
        continue;
      }
      const path = join(docs, name);
      const bytes = Buffer.from(`${name} round ${round} `.repeat(1 + i * 50 + round));
      writeFileSync(path, bytes);
      chmodSync(path, [0o644, 0o600, 0o755][round - 1]!);
      const t = new Date(Date.UTC(2024, round, 1 + i, 10, 0, 0));
      utimesSync(path, t, t);
      const stat = statSync(path, { bigint: true });
      const list = history.get(name) ?? [];
      list.push({ bytes, mode: Number(stat.mode & 0o7777n), mtimeNs: stat.mtimeNs, stagedAfter: new Date().toISOString() });
      history.set(name, list);
    }
    bt.ok(['add'], { cwd: docs });
    bt.ok(['backup']);
    cut.push(new Date().toISOString());
    // Versions of different rounds must have different staging times at millisecond resolution.
    const until = Date.now() + 20;
    while (Date.now() < until) {
      /* wait */
    }
  }
  const logs = new Map(names.map((n) => [n, bt.ok(['log', n, '--json'], { cwd: docs })]));
  const hostId = bt.json<{ host_id: string }>(['config', 'list']).host_id;
  const vaultConfig = readFileSync(join(bt.home, '.config/bt.toml'), 'utf8');

  // The machine is lost: config, database, staging area, everything under HOME.
  rmSync(bt.home, { recursive: true, force: true });

  const fresh = new BtHome('bt-new', extraEnv).init();
  const cfgPath = join(fresh.home, '.config/bt.toml');
  const freshConfig = readFileSync(cfgPath, 'utf8');
  // Same vault section as the lost machine, this machine's own new host id and directories.
  const vaultSection = vaultConfig.slice(vaultConfig.indexOf('[[vaults]]'));
  writeFileSync(cfgPath, freshConfig.slice(0, freshConfig.indexOf('[[vaults]]')) + vaultSection);
  const rec = fresh.json<{ host: string; events: number; adoptedHostId: boolean }>(['recover']);
  assert.is(rec.host, hostId);
  assert.is(rec.adoptedHostId, true);
  assert.is(fresh.json<{ host_id: string }>(['config', 'list']).host_id, hostId);

  for (const name of names) {
    assert.is(fresh.ok(['log', join(docs, name), '--json']), logs.get(name), `log of ${name}`);
    const versions = history.get(name)!;
    versions.forEach((v, i) => {
      const out = join(fresh.home, 'restored', `${name.replace(/\//g, '_')}.v${i + 1}`);
      fresh.ok(['restore', join(docs, name), '--version', String(i + 1), '--output', out]);
      assert.ok(readFileSync(out).equals(v.bytes), `${name} v${i + 1} bytes`);
      assert.is(statSync(out).mode & 0o7777, v.mode, `${name} v${i + 1} mode`);
      const diff = statSync(out, { bigint: true }).mtimeNs - v.mtimeNs;
      assert.ok(diff <= 1000n && diff >= -1000n, `${name} v${i + 1} mtime`);
    });
  }

  // Whole tree at the newest time: deleted files are left out unless asked for.
  const newest = join(fresh.home, 'tree-newest');
  const tree = fresh.json<{ files: number; deletedSkipped: number }>(['restore', docs, '--output', newest]);
  assert.equal([tree.files, tree.deletedSkipped], [3, 1]);
  assert.equal(listFiles(newest), ['a.txt', 'sub/b.bin', 'sub/deeper/c.md']);
  for (const name of ['a.txt', 'sub/b.bin', 'sub/deeper/c.md']) {
    const last = history.get(name)!.at(-1)!;
    assert.ok(readFileSync(join(newest, name)).equals(last.bytes), `newest ${name}`);
    assert.is(statSync(join(newest, name)).mode & 0o7777, last.mode);
  }
  // As of the first backup: round-1 bytes, and the file deleted later is there.
  const first = join(fresh.home, 'tree-first');
  fresh.ok(['restore', docs, '--output', first, '--at', cut[0]!]);
  assert.equal(listFiles(first), ['a.txt', 'gone.txt', 'sub/b.bin', 'sub/deeper/c.md']);
  for (const name of names) assert.ok(readFileSync(join(first, name)).equals(history.get(name)![0]!.bytes), `first ${name}`);
  // A subdirectory alone, with --deleted at the newest time.
  const sub = join(fresh.home, 'tree-sub');
  fresh.ok(['restore', join(docs, 'sub'), '--output', sub]);
  assert.equal(listFiles(sub), ['b.bin', 'deeper/c.md']);
  const withDeleted = join(fresh.home, 'tree-deleted');
  fresh.ok(['restore', docs, '--output', withDeleted, '--deleted']);
  assert.ok(readFileSync(join(withDeleted, 'gone.txt')).equals(history.get('gone.txt')!.at(-1)!.bytes));

  // The recovered machine carries on: a new version is backed up and synced after the recovered events.
  mkdirSync(docs, { recursive: true });
  writeFileSync(join(docs, 'after.txt'), 'after recovery');
  fresh.ok(['add', docs]);
  const b = fresh.json<{ files: number; journal: { error?: string }[] }>(['backup']);
  assert.is(b.files, 1);
  assert.ok(b.journal.every((j) => j.error === undefined));
  assert.is(fresh.run(['journal', 'verify']).code, 0);
  rmSync(docs, { recursive: true, force: true });
}
