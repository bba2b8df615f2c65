// Rebuild: drop every projection and replay the journal into fresh tables, in one transaction.
import type BetterSqlite3 from 'better-sqlite3';
import { faultPoint } from '../core/fault.js';
import type { Journal } from '../events/journal.js';
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
export function rebuildProjections(db: BetterSqlite3.Database, journal: Journal, toSeq?: number): RebuildResult {
  const run = db.transaction(() => {
    dropProjectionTables(db);
    createProjectionTablesWithoutIndexes(db);
    const { apply, finish } = bindReplayProjector(db, (seq) => journal.replayOne(seq));
    let events = 0;
    for (const rec of journal.replay(toSeq === undefined ? {} : { to: toSeq })) {
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
