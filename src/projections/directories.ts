// Projection: the directories tracked on this host.
import type { Projection } from './projection.js';

export const directoriesProjection: Projection = {
  name: 'directories',
  tables: ['directories'],
  ddl: `
CREATE TABLE IF NOT EXISTS directories (
  id         TEXT PRIMARY KEY,
  path       TEXT NOT NULL,
  created_at TEXT NOT NULL
) WITHOUT ROWID;`,
  indexes: 'CREATE UNIQUE INDEX IF NOT EXISTS directories_by_path ON directories (path);',
  bind(db) {
    const insert = db.prepare('INSERT INTO directories (id, path, created_at) VALUES (?, ?, ?)');
    const remove = db.prepare('DELETE FROM directories WHERE id = ?');
    return (rec) => {
      const e = rec.event;
      if (e.type === 'DirectoryTracked') insert.run(e.data.directory_id, e.data.path, rec.time);
      else if (e.type === 'DirectoryAbsorbed') remove.run(e.data.directory_id);
    };
  },
};
