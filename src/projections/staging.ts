// Projection: the staging queue, one pending version per file, in the order it was staged.
import type { Projection } from './projection.js';
import { metaColumns, metaColumnsDdl } from './projection.js';

export const stagingProjection: Projection = {
  name: 'staging',
  tables: ['staging'],
  ddl: `
CREATE TABLE IF NOT EXISTS staging (
  stage_id   TEXT    PRIMARY KEY,
  file_id    TEXT    NOT NULL,
  content_id TEXT,
  ${metaColumnsDdl},
  staged_at  TEXT    NOT NULL,
  seq        INTEGER NOT NULL
) WITHOUT ROWID;`,
  // One pending version per file: a second may only be staged after the first was dropped or committed.
  indexes: `
CREATE UNIQUE INDEX IF NOT EXISTS staging_by_file ON staging (file_id);
CREATE INDEX IF NOT EXISTS staging_by_seq ON staging (seq);`,
  bind(db) {
    const insert = db.prepare(
      `INSERT INTO staging (stage_id, file_id, content_id, ${metaColumns.join(', ')}, staged_at, seq)
       VALUES (?, ?, ?, ${metaColumns.map(() => '?').join(', ')}, ?, ?)`,
    );
    const remove = db.prepare('DELETE FROM staging WHERE stage_id = ?');
    return (rec) => {
      const e = rec.event;
      switch (e.type) {
        case 'FileStaged': {
          const m = e.data.meta;
          insert.run(
            e.data.stage_id, e.data.file_id, e.data.content_id,
            m.kind, m.size, m.mode, m.uid, m.gid, m.atime_ns, m.mtime_ns, m.ctime_ns, m.birthtime_ns, m.dev, m.ino, m.link_target,
            rec.time, rec.seq,
          );
          break;
        }
        case 'SnapshotCommitted':
        case 'StageDropped':
          remove.run(e.data.stage_id);
          break;
        default:
          break;
      }
    };
  },
};
