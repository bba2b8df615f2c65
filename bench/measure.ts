// Running a command for the benchmark: wall time and peak RSS, from /usr/bin/time when it is there.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

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
