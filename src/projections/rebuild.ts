// Rebuild: drop every projection and replay the journal into fresh tables, in one transaction.
import type BetterSqlite3 from 'better-sqlite3';
import { faultPoint } from '../core/fault.js';
import type { ReplayedEvent } from '../events/envelope.js';
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
  const outerTransaction = db.inTransaction;
  const run = db.transaction(() => {
    // Immediate: the write lock is taken first, so the head read below is the end of the journal (no other
    // connection appends until the commit), and a reader thread started now sees exactly rows 1..head.
    dropProjectionTables(db);
    createProjectionTablesWithoutIndexes(db);
    const to = toSeq ?? journal.head().seq;
    const inThread = (): Iterable<ReplayedEvent> => journal.replay({ to });
    const source = replaysOffThread(reader, db, outerTransaction, to) ? replayOffThread(reader.script, db.name, 1, to, inThread) : inThread();
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
  return { events: run.immediate() };
}
