// Projection: contents known to be stored, and which vault holds each.
import type { Projection } from './projection.js';

export const contentsProjection: Projection = {
  name: 'contents',
  tables: ['contents', 'content_locations'],
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
) WITHOUT ROWID;`,
  indexes: '',
  bind(db) {
    const content = db.prepare('INSERT INTO contents (id, size, created_at) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING');
    const location = db.prepare(
      'INSERT INTO content_locations (content_id, vault, stored_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
    );
    const stored = (contentId: string, size: number, vault: string, time: string): void => {
      content.run(contentId, size, time);
      location.run(contentId, vault, time);
    };
    return (rec) => {
      const e = rec.event;
      if (e.type === 'ContentStored') stored(e.data.content_id, e.data.size, e.data.vault, rec.time);
      else if (e.type === 'SnapshotCommitted' && e.data.content_id !== null) {
        for (const s of e.data.stored) stored(e.data.content_id, e.data.meta.size, s.vault, rec.time);
      }
    };
  },
};
