// All projections of the journal, and the step that applies an event to each of them.
import type BetterSqlite3 from 'better-sqlite3';
import type { ReplayedEvent } from '../events/envelope.js';
import type { ApplyEvent } from '../events/journal.js';
import { contentsProjection } from './contents.js';
import { deletionsProjection } from './deletions.js';
import { directoriesProjection } from './directories.js';
import { directoryMetaProjection } from './directory-meta.js';
import { filesProjection } from './files.js';
import type { Projection } from './projection.js';
import { snapshotsProjection } from './snapshots.js';
import { deferredStagingStep, stagingProjection } from './staging.js';

export const projections: readonly Projection[] = [
  directoriesProjection,
  filesProjection,
  snapshotsProjection,
  contentsProjection,
  stagingProjection,
  deletionsProjection,
  directoryMetaProjection,
];

/** Bump when a projection's tables or apply step change: opening an older database rebuilds by replay. */
export const PROJECTION_SCHEMA_VERSION = 8;

export const projectionTables = (): string[] => projections.flatMap((p) => p.tables);

export function createProjectionTables(db: BetterSqlite3.Database): void {
  for (const p of projections) db.exec(p.ddl);
  createProjectionIndexes(db);
}

export function createProjectionTablesWithoutIndexes(db: BetterSqlite3.Database): void {
  for (const p of projections) db.exec(p.ddl);
}

export function createProjectionIndexes(db: BetterSqlite3.Database): void {
  for (const p of projections) db.exec(p.indexes);
}

export function dropProjectionTables(db: BetterSqlite3.Database): void {
  for (const table of projectionTables()) db.exec(`DROP TABLE IF EXISTS ${table}`);
}

export function bindProjector(db: BetterSqlite3.Database): ApplyEvent {
  const steps = projections.map((p) => p.bind(db));
  return (rec) => {
    for (const step of steps) step(rec);
  };
}

/**
 * The projector of a rebuild: the same end state as `bindProjector`'s, with the staging queue's rows
 * written only for stages still pending (see deferredStagingStep); `finish` writes those.
 */
export function bindReplayProjector(
  db: BetterSqlite3.Database,
  reread: (seq: number) => ReplayedEvent,
): { apply: ApplyEvent; finish: () => void } {
  const staging = deferredStagingStep(db, reread);
  const bound = projections.map((p) => (p === stagingProjection ? staging : (p.bindReplay?.(db) ?? { apply: p.bind(db), finish: () => {} })));
  const steps = bound.map((b) => b.apply);
  return {
    apply: (rec) => {
      for (const step of steps) step(rec);
    },
    finish: () => {
      for (const b of bound) b.finish();
    },
  };
}
