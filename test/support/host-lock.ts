// Holds a host's lock from the test process, as another bt would, labelled with any holder.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export function holdHostLock(dataDir: string, label: Record<string, unknown>): { release(): void } {
  const db = new Database(join(dataDir, 'lock.db'), { timeout: 0 });
  db.exec('BEGIN EXCLUSIVE');
  writeFileSync(join(dataDir, 'lock'), JSON.stringify(label));
  return {
    release: () => {
      db.exec('ROLLBACK');
      db.close();
    },
  };
}
