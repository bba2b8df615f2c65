// Facts about this database copy that are not events: e.g. that it was recovered as of a past time and is
// read-only. Never journaled, never rebuilt.
import type BetterSqlite3 from 'better-sqlite3';

export const localSettingsSchema = `
CREATE TABLE IF NOT EXISTS local_settings (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);`;

/** `vault_id:NAME`: the id of the filesystem vault this host uses under that name (its marker's). */
export type LocalSetting = 'frozen_at' | `vault_id:${string}`;

export class LocalSettings {
  constructor(private readonly db: BetterSqlite3.Database) {}

  get(key: LocalSetting): string | undefined {
    const row = this.db.prepare('SELECT value FROM local_settings WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value;
  }

  set(key: LocalSetting, value: string): void {
    this.db.prepare('INSERT INTO local_settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value').run(key, value);
  }

  delete(key: LocalSetting): void {
    this.db.prepare('DELETE FROM local_settings WHERE key = ?').run(key);
  }
}
