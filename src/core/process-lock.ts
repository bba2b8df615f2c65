// A lock the kernel holds for this process until it is released or the process ends, however it ends:
// an exclusive SQLite transaction on a small file of its own (a POSIX record lock underneath). Nothing is
// ever left to judge stale and break, so two processes can never both hold it.
import Database from 'better-sqlite3';
import { errnoCode } from './errors.js';

export interface ProcessLock {
  release(): void;
}

/** Takes the lock on `file` if no other process holds it (never waits: a wait would block the event loop). */
export function tryProcessLock(file: string): ProcessLock | undefined {
  const db = new Database(file, { timeout: 0 });
  try {
    db.exec('BEGIN EXCLUSIVE');
  } catch (err) {
    db.close();
    if (errnoCode(err) === 'SQLITE_BUSY') return undefined;
    throw err;
  }
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
