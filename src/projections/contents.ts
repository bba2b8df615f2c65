// Projection: contents known to be stored, which vault holds each, and how many each holds.
import type BetterSqlite3 from 'better-sqlite3';
import type { ReplayedEvent } from '../events/envelope.js';
import type { Projection } from './projection.js';

export const contentsProjection: Projection = {
  name: 'contents',
  tables: ['contents', 'content_locations', 'content_counts'],
  ddl: `
CREATE TABLE IF NOT EXISTS contents (
  id         TEXT    PRIMARY KEY,
  size       INTEGER NOT NULL,
  created_at TEXT    NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS content_locations (
  content_id TEXT NOT NULL,
  vault      TEXT NOT NULL,
  stored_at  TEXT NOT NULL,
  PRIMARY KEY (content_id, vault)
) WITHOUT ROWID;
-- How many contents each vault holds ('' : how many there are): whether a vault lacks any is two lookups,
-- not two scans that grow with the history (bt backup asks it every run, ADR 0016).
CREATE TABLE IF NOT EXISTS content_counts (
  vault    TEXT    PRIMARY KEY,
  contents INTEGER NOT NULL
) WITHOUT ROWID;`,
  indexes: '',
  bind(db) {
    const count = db.prepare('INSERT INTO content_counts (vault, contents) VALUES (?, 1) ON CONFLICT (vault) DO UPDATE SET contents = contents + 1');
    return applyStep(db, (vault) => count.run(vault));
  },
  bindReplay(db) {
    // A rebuild counts once at the end: a million small updates of one hot row cost more than two scans.
    return {
      apply: applyStep(db, () => {}),
      finish: () => {
        db.exec(`INSERT INTO content_counts (vault, contents)
                   SELECT '', COUNT(*) FROM contents HAVING COUNT(*) > 0
                   UNION ALL SELECT vault, COUNT(*) FROM content_locations GROUP BY vault`);
      },
    };
  },
};

/** The apply step; `counted` is told of each content new to bt ('') and each new location (its vault). */
function applyStep(db: BetterSqlite3.Database, counted: (vault: string) => void): (rec: ReplayedEvent) => void {
  const content = db.prepare('INSERT INTO contents (id, size, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING');
  const location = db.prepare('INSERT INTO content_locations (content_id, vault, stored_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING');
  const stored = (contentId: string, size: number, vault: string, time: string): void => {
    if (content.run(contentId, size, time).changes > 0) counted('');
    if (location.run(contentId, vault, time).changes > 0) counted(vault);
  };
  return (rec) => {
    const e = rec.event;
    if (e.type === 'ContentStored') stored(e.data.content_id, e.data.size, e.data.vault, rec.time);
    else if (e.type === 'SnapshotCommitted' && e.data.content_id !== null) {
      for (const s of e.data.stored) stored(e.data.content_id, e.data.meta.size, s.vault, rec.time);
    }
  };
}
