// The crash-safety harness: kill bt with SIGKILL at a chosen point (or after a delay), run it again, and
// require the same end state as an uninterrupted run.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { BT_BIN, type BtHome } from './cli.js';
import { listFiles, stagedCopies, vaultObjects } from './files.js';

const sha = (b: Buffer | string): string => createHash('sha256').update(b).digest('hex');

/** A deterministic tree: small files (some identical), one of 3 MiB, a symlink, nested directories. */
export function writeCorpus(dir: string, round: number): void {
  mkdirSync(join(dir, 'a/b'), { recursive: true });
  mkdirSync(join(dir, 'c'), { recursive: true });
  for (let i = 0; i < 60; i++) {
    const where = i % 3 === 0 ? 'a' : i % 3 === 1 ? 'a/b' : 'c';
    // Round 2 rewrites every fifth file; every seventh repeats another's bytes.
    const body = i % 7 === 6 ? 'shared bytes\n' : `file ${i} round ${i % 5 === 0 ? round : 1}\n`.repeat(1 + (i * 37) % 400);
    writeFileSync(join(dir, where, `f${i}.txt`), body);
  }
  const big = Buffer.alloc(3 * 1024 * 1024);
  for (let i = 0; i < big.length; i += 4) big.writeUInt32LE(((i + round) * 2654435761) >>> 0, i);
  writeFileSync(join(dir, 'big.bin'), big);
  if (round === 1) symlinkSync('a/f0.txt', join(dir, 'link'));
  if (round === 2) rmSync(join(dir, 'c/f2.txt'));
}

export type Interruption = { readonly fault: string } | { readonly afterMs: number };

/** Runs bt; with an interruption it is killed (by its own fault point, or by us after a delay). */
export function runInterrupted(bt: BtHome, args: readonly string[], cwd: string, how: Interruption): { code: number | null; signal: string | null } {
  if ('fault' in how) {
    const r = spawnSync(process.execPath, [BT_BIN, ...args], { cwd, env: { ...bt.env, BT_FAULT: how.fault }, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status, signal: r.signal };
  }
  // A child that sleeps, then kills bt: spawnSync would block our own timer.
  const script = `const c=require('child_process').spawn(process.execPath,${JSON.stringify([BT_BIN, ...args])},{cwd:${JSON.stringify(cwd)},stdio:'ignore'});setTimeout(()=>c.kill('SIGKILL'),${how.afterMs});c.on('exit',(code,sig)=>{console.log(JSON.stringify({code,signal:sig}))});`;
  const r = spawnSync(process.execPath, ['-e', script], { env: bt.env as NodeJS.ProcessEnv, encoding: 'utf8', timeout: 120_000 });
  return JSON.parse(r.stdout.trim() || '{"code":null,"signal":null}') as { code: number | null; signal: string | null };
}

/** What every run must end with: everything backed up, verifiable, restorable, nothing left staged. */
export function assertEndState(bt: BtHome, dir: string, label: string): void {
  const status = bt.json<{ files: { path: string; state: string }[] }>(['dir', 'status'], { cwd: dir });
  const notDone = status.files.filter((f) => f.state !== 'backed-up');
  assert.equal(notDone, [], `${label}: not backed up`);
  const staging = join(bt.home, 'data/bt/staging');
  assert.equal(stagedCopies(staging), [], `${label}: staging area not empty`);
  const check = bt.run(['check', '--read-data']);
  assert.is(check.code, 0, `${label}: bt check: ${check.stdout}${check.stderr}`);
  const verify = bt.run(['journal', 'verify']);
  assert.is(verify.code, 0, `${label}: journal verify: ${verify.stdout}`);
  const out = join(bt.home, `restored-${Date.now()}`);
  bt.ok(['restore', dir, '--output', out]);
  const files = listFiles(dir);
  assert.equal(listFiles(out), files, `${label}: restored tree`);
  for (const f of files) {
    if (f === 'link') continue;
    assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(dir, f))), `${label}: bytes of ${f}`);
  }
  rmSync(out, { recursive: true, force: true });
}

/** The content objects a vault must hold after the rounds: exactly the contents ever backed up. */
export function assertVaultObjects(bt: BtHome, expected: ReadonlySet<string>, label: string): void {
  assert.equal(new Set(vaultObjects(bt.vault)), expected, `${label}: vault objects`);
}

export function contentsOf(dir: string): Set<string> {
  return new Set(listFiles(dir).filter((f) => f !== 'link').map((f) => sha(readFileSync(join(dir, f)))));
}
