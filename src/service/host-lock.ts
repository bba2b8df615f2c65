// One writer per host: a lock file naming its holder, waited on (bounded), broken only when its holder is dead.
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { BtError, errnoCode, userError } from '../core/errors.js';
import * as t from 'io-ts';
import { NonNegInt, decodeWith } from '../core/decode.js';
import { releaseOnExit } from '../core/release-on-exit.js';

export interface HostLock {
  release(): void;
}

const Holder = t.type({ pid: NonNegInt, command: t.string, since: t.string });
type Holder = t.TypeOf<typeof Holder>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The lock's holder; undefined when the file is gone or not a holder (half-written by a killed bt). */
function readHolder(file: string): Holder | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const decoded = decodeWith(Holder, parsed);
  // pid 0 would name a process group: `kill(0, 0)` always succeeds, and the lock would never be broken.
  return decoded.ok && decoded.value.pid > 0 ? decoded.value : undefined;
}

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return errnoCode(err) === 'EPERM';
  }
}

export const defaultLockWaitMs = (): number => {
  const raw = process.env.BT_LOCK_WAIT_MS;
  if (raw === undefined) return 10_000;
  if (!/^\d+$/.test(raw)) throw userError(`BT_LOCK_WAIT_MS="${raw}" is not a number of milliseconds`, 'set it to e.g. 10000, or unset it');
  return Number(raw);
};

/**
 * Takes `${dataDir}/lock` for `command`. Waits up to `waitMs` for a live holder; a lock left by a dead
 * process (bt was killed) is broken. Released on exit, whatever the exit path.
 */
export async function acquireHostLock(dataDir: string, command: string, waitMs = defaultLockWaitMs()): Promise<HostLock> {
  const file = `${dataDir}/lock`;
  const me: Holder = { pid: process.pid, command, since: new Date().toISOString() };
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      writeFileSync(file, JSON.stringify(me), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if (errnoCode(err) !== 'EEXIST') throw err;
    }
    const holder = readHolder(file);
    if (holder && holder.pid === process.pid) break;
    if (!holder || !processAlive(holder.pid)) {
      // Stale (or half-written by a killed process): move it aside atomically, then race for a fresh one.
      const aside = `${file}.stale-${process.pid}`;
      try {
        renameSync(file, aside);
        rmSync(aside, { force: true });
      } catch {
        /* another process broke it first */
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new BtError(
        'busy',
        `another bt is working on this host (${holder.command}, pid ${holder.pid}, since ${holder.since})`,
        'wait for it to finish and try again',
      );
    }
    await sleep(100);
  }
  const { release } = releaseOnExit(file, () => readHolder(file)?.pid === process.pid);
  return { release };
}
