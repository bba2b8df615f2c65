// Projection: the staging queue, one pending version per file, in the order it was staged.
import type BetterSqlite3 from 'better-sqlite3';
import type { ReplayedEvent } from '../events/envelope.js';
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
    const { insert, remove } = statements(db);
    return (rec) => {
      const e = rec.event;
      switch (e.type) {
        case 'FileStaged':
          insert(rec);
          break;
        case 'SnapshotCommitted':
        case 'StageDropped':
          remove(e.data.stage_id);
          break;
        default:
          break;
      }
    };
  },
};

function statements(db: BetterSqlite3.Database): { insert: (rec: ReplayedEvent) => void; remove: (stageId: string) => void } {
  const insert = db.prepare(
    `INSERT INTO staging (stage_id, file_id, content_id, ${metaColumns.join(', ')}, staged_at, seq)
     VALUES (?, ?, ?, ${metaColumns.map(() => '?').join(', ')}, ?, ?)`,
  );
  const remove = db.prepare('DELETE FROM staging WHERE stage_id = ?');
  return {
    insert: (rec) => {
      if (rec.event.type !== 'FileStaged') return;
      const d = rec.event.data;
      const m = d.meta;
      insert.run(
        d.stage_id, d.file_id, d.content_id,
        m.kind, m.size, m.mode, m.uid, m.gid, m.atime_ns, m.mtime_ns, m.ctime_ns, m.birthtime_ns, m.dev, m.ino, m.link_target,
        rec.time, rec.seq,
      );
    },
    remove: (stageId) => {
      remove.run(stageId);
    },
  };
}

/** Stages a replay holds back at most; past it, the oldest tenth is written (they are rarely committed soon). */
const DEFERRED_MAX = 100_000;

/**
 * The staging step for a rebuild, with the same end state as `bind`'s: most stages are committed a few
 * thousand events later, so a row written and deleted again is a wasted insert (17 values) and delete per
 * file. A FileStaged is only remembered (stage id -> seq, not the event: held events were promoted to the
 * old generation and GC took the saving back, ADR 0013); its commit or drop forgets it. `finish` writes
 * what is left, reading those events again by seq (`reread`), as does an overflow of DEFERRED_MAX.
 */
export function deferredStagingStep(
  db: BetterSqlite3.Database,
  reread: (seq: number) => ReplayedEvent,
  max = DEFERRED_MAX,
): { apply: (rec: ReplayedEvent) => void; finish: () => void } {
  const { insert, remove } = statements(db);
  const pending = new Map<string, number>();
  const write = (count: number): void => {
    for (const [stageId, seq] of pending) {
      if (count-- <= 0) break;
      pending.delete(stageId);
      insert(reread(seq));
    }
  };
  return {
    apply: (rec) => {
      const e = rec.event;
      switch (e.type) {
        case 'FileStaged':
          pending.set(e.data.stage_id, rec.seq);
          if (pending.size > max) write(Math.ceil(max / 10));
          break;
        case 'SnapshotCommitted':
        case 'StageDropped':
          if (!pending.delete(e.data.stage_id)) remove(e.data.stage_id);
          break;
        default:
          break;
      }
    },
    finish: () => write(pending.size),
  };
}
