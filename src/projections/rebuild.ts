// Rebuild: drop every projection and replay the journal into fresh tables, in one transaction.
import type BetterSqlite3 from 'better-sqlite3';
import { faultPoint } from '../core/fault.js';
import type { Journal } from '../events/journal.js';
import { type ReplayReader, defaultReplayReader, replayOffThread, replaysOffThread } from '../events/off-thread-replay.js';
import {
  PROJECTION_SCHEMA_VERSION,
  bindReplayProjector,
  createProjectionIndexes,
  createProjectionTablesWithoutIndexes,
  dropProjectionTables,
} from './index.js';

export interface RebuildResult {
  readonly events: number;
}

/**
 * Replays events up to `toSeq` (all by default). Either every projection is rebuilt or none is touched.
 * Indexes are built after the replay (one sort instead of a million inserts), and their uniqueness is
 * checked then; the apply steps do not depend on them.
 */
export function rebuildProjections(
  db: BetterSqlite3.Database,
  journal: Journal,
  toSeq?: number,
  reader: ReplayReader = defaultReplayReader(),
): RebuildResult {
  // Read off-thread only what is committed: the worker's own connection sees nothing else.
  const to = toSeq ?? journal.head().seq;
  const source = replaysOffThread(reader, db.name, db.inTransaction, to)
    ? replayOffThread(reader.script, db.name, 1, to)
    : journal.replay({ to });
  const run = db.transaction(() => {
    dropProjectionTables(db);
    createProjectionTablesWithoutIndexes(db);
    const { apply, finish } = bindReplayProjector(db, (seq) => journal.replayOne(seq));
    let events = 0;
    for (const rec of source) {
      apply(rec);
      events++;
      faultPoint('rebuild');
    }
    finish();
    createProjectionIndexes(db);
    db.pragma(`user_version = ${PROJECTION_SCHEMA_VERSION}`);
    return events;
  });
  return { events: run() };
}
