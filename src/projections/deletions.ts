// Projection: every recorded deletion of a file, so "what existed at time T" can be answered.
import type { Projection } from './projection.js';

export const deletionsProjection: Projection = {
  name: 'file_deletions',
  tables: ['file_deletions'],
  ddl: `
CREATE TABLE IF NOT EXISTS file_deletions (
  seq        INTEGER PRIMARY KEY,
  file_id    TEXT    NOT NULL,
  deleted_at TEXT    NOT NULL
);`,
  indexes: 'CREATE INDEX IF NOT EXISTS file_deletions_by_file ON file_deletions (file_id, seq);',
  bind(db) {
    const insert = db.prepare('INSERT INTO file_deletions (seq, file_id, deleted_at) VALUES (?, ?, ?)');
    return (rec) => {
      const e = rec.event;
      if (e.type === 'FileDeleted') insert.run(rec.seq, e.data.file_id, rec.time);
    };
  },
};
