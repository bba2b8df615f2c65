// Every row of every projection table, in a stable order, for comparing live tables with rebuilt ones.
import type BetterSqlite3 from 'better-sqlite3';
import { projectionTables } from '../../src/projections/index.js';

export function dumpProjections(db: BetterSqlite3.Database): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  for (const table of projectionTables()) {
    const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name);
    out[table] = db.prepare(`SELECT * FROM ${table} ORDER BY ${columns.join(', ')}`).all();
  }
  return out;
}
