// What this host last knew of each vault's copy of its journal. A cache, not a fact: never journaled,
// never rebuilt; when it is missing or stale, sync reads the vault instead.
import type BetterSqlite3 from 'better-sqlite3';

export const syncStateSchema = `
CREATE TABLE IF NOT EXISTS vault_sync (
  vault TEXT    PRIMARY KEY,
  seq   INTEGER NOT NULL,
  hash  TEXT    NOT NULL,
  key   TEXT    NOT NULL
);`;

export interface VaultSyncState {
  readonly vault: string;
  readonly seq: number;
  readonly hash: string;
  readonly key: string;
}

export class SyncState {
  constructor(private readonly db: BetterSqlite3.Database) {}

  get(vault: string): VaultSyncState | undefined {
    return this.db.prepare('SELECT * FROM vault_sync WHERE vault = ?').get(vault) as VaultSyncState | undefined;
  }

  set(state: VaultSyncState): void {
    this.db
      .prepare('INSERT INTO vault_sync (vault, seq, hash, key) VALUES (?, ?, ?, ?) ON CONFLICT (vault) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, key = excluded.key')
      .run(state.vault, state.seq, state.hash, state.key);
  }

  forget(vault: string): void {
    this.db.prepare('DELETE FROM vault_sync WHERE vault = ?').run(vault);
  }

  clear(): void {
    this.db.exec('DELETE FROM vault_sync');
  }
}
