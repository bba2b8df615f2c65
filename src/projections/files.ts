// Projection: every file bt has seen in a tracked directory, its current snapshot and whether it is deleted.
import type { Projection } from './projection.js';
import { statKeyText } from './stat-key.js';

export const filesProjection: Projection = {
  name: 'files',
  tables: ['files'],
  ddl: `
CREATE TABLE IF NOT EXISTS files (
  id                  TEXT    PRIMARY KEY,
  directory_id        TEXT    NOT NULL,
  name                TEXT    NOT NULL,
  current_snapshot_id TEXT,
  deleted             INTEGER NOT NULL DEFAULT 0,
  deleted_at          TEXT,
  created_at          TEXT    NOT NULL,
  -- The current snapshot's change-test fields as one text (stat-key.ts), copied here: the stat-only scan
  -- of a tree reads this table alone instead of joining a snapshot per file.
  current_stat        TEXT
) WITHOUT ROWID;`,
  indexes: 'CREATE UNIQUE INDEX IF NOT EXISTS files_by_name ON files (directory_id, name);',
  bind(db) {
    // A staged file exists at that moment: it is (again) not deleted.
    const staged = db.prepare(`
      INSERT INTO files (id, directory_id, name, created_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET deleted = 0, deleted_at = NULL`);
    const committed = db.prepare('UPDATE files SET current_snapshot_id = ?, current_stat = ? WHERE id = ?');
    const deleted = db.prepare('UPDATE files SET deleted = 1, deleted_at = ? WHERE id = ?');
    const absorbed = db.prepare(`UPDATE files SET directory_id = ?, name = ? || '/' || name WHERE directory_id = ?`);
    return (rec) => {
      const e = rec.event;
      switch (e.type) {
        case 'FileStaged':
          staged.run(e.data.file_id, e.data.directory_id, e.data.name, rec.time);
          break;
        case 'SnapshotCommitted':
          committed.run(e.data.snapshot_id, statKeyText(e.data.meta), e.data.file_id);
          break;
        case 'FileDeleted':
          deleted.run(rec.time, e.data.file_id);
          break;
        case 'DirectoryAbsorbed':
          absorbed.run(e.data.into_directory_id, e.data.prefix, e.data.directory_id);
          break;
        default:
          break;
      }
    };
  },
};
