// Projection: the committed versions of every file (file_snapshots), oldest first by sequence.
import type { Projection } from './projection.js';
import { metaColumns, metaColumnsDdl } from './projection.js';

export const snapshotsProjection: Projection = {
  name: 'file_snapshots',
  tables: ['file_snapshots'],
  ddl: `
CREATE TABLE IF NOT EXISTS file_snapshots (
  id         TEXT    PRIMARY KEY,
  file_id    TEXT    NOT NULL,
  content_id TEXT,
  ${metaColumnsDdl},
  staged_at  TEXT    NOT NULL,
  created_at TEXT    NOT NULL,
  seq        INTEGER NOT NULL
) WITHOUT ROWID;`,
  indexes: `
CREATE INDEX IF NOT EXISTS file_snapshots_by_file ON file_snapshots (file_id, seq);
CREATE INDEX IF NOT EXISTS file_snapshots_by_content ON file_snapshots (content_id);`,
  bind(db) {
    const insert = db.prepare(
      `INSERT INTO file_snapshots (id, file_id, content_id, ${metaColumns.join(', ')}, staged_at, created_at, seq)
       VALUES (?, ?, ?, ${metaColumns.map(() => '?').join(', ')}, ?, ?, ?)`,
    );
    return (rec) => {
      const e = rec.event;
      if (e.type !== 'SnapshotCommitted') return;
      const m = e.data.meta;
      insert.run(
        e.data.snapshot_id, e.data.file_id, e.data.content_id,
        m.kind, m.size, m.mode, m.uid, m.gid, m.atime_ns, m.mtime_ns, m.ctime_ns, m.birthtime_ns, m.dev, m.ino, m.link_target,
        e.data.staged_at, rec.time, rec.seq,
      );
    };
  },
};
