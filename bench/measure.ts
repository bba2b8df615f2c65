// Running a command for the benchmark: wall time and peak RSS, from /usr/bin/time when it is there.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export interface Measured {
  readonly seconds: number;
  /** Peak resident set size in MiB (0 when it could not be measured). */
  readonly rssMiB: number;
  readonly stdout: string;
}

const TIME = '/usr/bin/time';

export function measure(cmd: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv; allowFail?: boolean }): Measured {
  // Every step starts with nothing dirty in the page cache: otherwise a step pays for the writeback of the
  // one before it (here, writes slow from ~2 GB/s to the disk's ~370 MB/s once about 1 GiB is dirty).
  spawnSync('sync');
  const out = join(tmpdir(), `bt-bench-time-${process.pid}`);
  const useTime = existsSync(TIME);
  const started = process.hrtime.bigint();
  const r = useTime
    ? spawnSync(TIME, ['-f', '%M', '-o', out, cmd, ...args], { cwd: opts.cwd, env: opts.env, encoding: 'utf8', maxBuffer: 1 << 28 })
    : spawnSync(cmd, args, { cwd: opts.cwd, env: opts.env, encoding: 'utf8', maxBuffer: 1 << 28 });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  if (r.status !== 0 && !opts.allowFail) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr?.slice(0, 2000)}`);
  }
  let rssMiB = 0;
  if (useTime) {
    rssMiB = Number(readFileSync(out, 'utf8').trim().split('\n').pop()) / 1024;
    rmSync(out, { force: true });
  }
  return { seconds, rssMiB, stdout: r.stdout ?? '' };
}

/** Several commands in a row, as one measured step: total time, highest peak. */
export function measureAll(steps: readonly (() => Measured)[]): Measured {
  let seconds = 0;
  let rssMiB = 0;
  let stdout = '';
  for (const step of steps) {
    const m = step();
    seconds += m.seconds;
    rssMiB = Math.max(rssMiB, m.rssMiB);
    stdout += m.stdout;
  }
  return { seconds, rssMiB, stdout };
}

export const BT = fileURLToPath(new URL('../bin/bt.js', import.meta.url));

/**
 * `bt` run in `cwd` with its own HOME, config and base dir under `root`, already set up and tracking `cwd`.
 * `extraEnv` adds variables; one set to undefined is removed from the inherited environment.
 */
export function freshBt(root: string, cwd: string, extraEnv: NodeJS.ProcessEnv = {}): (...args: string[]) => Measured {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: join(root, 'home'), BT_BASE_DIR: join(root, 'bt'), BT_CONFIG: join(root, 'bt.toml'), BT_NO_PROGRESS: '1', ...extraEnv };
  for (const [k, v] of Object.entries(extraEnv)) if (v === undefined) delete env[k];
  mkdirSync(join(root, 'home'), { recursive: true });
  const bt = (...args: string[]): Measured => measure(process.execPath, [BT, ...args], { cwd, env });
  bt('config', 'init');
  bt('dir', 'init');
  return bt;
}
