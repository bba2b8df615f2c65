// Projection: every recorded metadata (and removal) of the directories inside tracked directories, so a tree
// restore can make the directories there were at a time, empty ones too, with their mode, owner and mtime.
import type { Projection } from './projection.js';

export const directoryMetaProjection: Projection = {
  name: 'directory_meta',
  tables: ['directory_meta'],
  ddl: `
CREATE TABLE IF NOT EXISTS directory_meta (
  seq          INTEGER PRIMARY KEY,
  directory_id TEXT    NOT NULL,
  -- Relative to the tracked directory; '' is the tracked directory itself.
  name         TEXT    NOT NULL,
  recorded_at  TEXT    NOT NULL,
  -- A row with these NULL records the directory's removal.
  mode         INTEGER,
  uid          INTEGER,
  gid          INTEGER,
  mtime_ns     TEXT
);`,
  indexes: 'CREATE INDEX IF NOT EXISTS directory_meta_by_name ON directory_meta (directory_id, name, seq);',
  bind(db) {
    const insert = db.prepare(
      'INSERT INTO directory_meta (seq, directory_id, name, recorded_at, mode, uid, gid, mtime_ns) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
    );
    // As the files' names: the child's directories move under the parent as `prefix/name` ('' is `prefix`).
    const absorbed = db.prepare(
      `UPDATE directory_meta SET directory_id = @into, name = CASE name WHEN '' THEN @prefix ELSE @prefix || '/' || name END WHERE directory_id = @child`,
    );
    return (rec) => {
      const e = rec.event;
      if (e.type === 'DirectoryMetaRecorded') {
        const m = e.data.meta;
        insert.run(rec.seq, e.data.directory_id, e.data.name, rec.time, m.mode, m.uid, m.gid, m.mtime_ns);
      } else if (e.type === 'DirectoryRemoved') {
        insert.run(rec.seq, e.data.directory_id, e.data.name, rec.time, null, null, null, null);
      } else if (e.type === 'DirectoryAbsorbed') {
        absorbed.run({ into: e.data.into_directory_id, prefix: e.data.prefix, child: e.data.directory_id });
      }
    };
  },
};
