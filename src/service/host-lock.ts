// One writer per host: a process lock (process-lock.ts) on `lock.db` while a command works. It ends with
// its process however that ends: there is no stale lock to judge and break, and no moment when a
// half-written lock file looks abandoned (two bts could both take a lock file that way). `lock` beside it
// names the holder, for the waiting message only.
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import * as t from 'io-ts';
import { NonNegInt, decodeWith } from '../core/decode.js';
import { BtError, errnoCode, userError } from '../core/errors.js';
import { type ProcessLock, tryProcessLock } from '../core/process-lock.js';
import { type Held, releaseOnExit } from '../core/release-on-exit.js';

export interface HostLock {
  release(): void;
}

const Holder = t.intersection([t.type({ pid: NonNegInt }), t.partial({ command: t.string, since: t.string })]);
type Holder = t.TypeOf<typeof Holder>;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Who says it holds the lock; undefined when the file is gone or says nothing readable. */
function readHolder(file: string): Holder | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const decoded = decodeWith(Holder, parsed);
  return decoded.ok ? decoded.value : undefined;
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

/** This process's hold per data directory: a second taker in the same process shares it (as before). */
const held = new Map<string, { lock: ProcessLock; label: Held; takers: number }>();

/** Tries once to take the lock of `dataDir` for `command`; false while another process holds it. */
function tryTake(dataDir: string, command: string): boolean {
  const mine = held.get(dataDir);
  if (mine) {
    mine.takers++;
    return true;
  }
  const lock = tryProcessLock(`${dataDir}/lock.db`);
  if (!lock) return false;
  held.set(dataDir, { lock, label: writeLabel(`${dataDir}/lock`, command), takers: 1 });
  return true;
}

/** Names this process as the holder: written whole, then renamed, so a waiter never reads half of it. */
function writeLabel(file: string, command: string): Held {
  const me: Holder = { pid: process.pid, command, since: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(me), { mode: 0o600 });
  renameSync(tmp, file);
  return releaseOnExit(file, () => readHolder(file)?.pid === process.pid);
}

function give(dataDir: string): void {
  const mine = held.get(dataDir);
  if (!mine || --mine.takers > 0) return;
  held.delete(dataDir);
  mine.label.release();
  mine.lock.release();
}

/**
 * Takes the host lock of `dataDir` for `command`, waiting up to `waitMs` while another bt holds it.
 * Released by `release`, or by the process's end, whatever the exit path.
 */
export async function acquireHostLock(dataDir: string, command: string, waitMs = defaultLockWaitMs()): Promise<HostLock> {
  const deadline = Date.now() + waitMs;
  while (!tryTake(dataDir, command)) {
    if (Date.now() >= deadline) {
      const holder = readHolder(`${dataDir}/lock`);
      const who = holder && [holder.command, `pid ${holder.pid}`, holder.since && `since ${holder.since}`].filter(Boolean).join(', ');
      throw new BtError('busy', `another bt is working on this host${who ? ` (${who})` : ''}`, 'wait for it to finish and try again');
    }
    await sleep(100);
  }
  let released = false;
  return {
    release: () => {
      if (released) return;
      released = true;
      give(dataDir);
    },
  };
}
