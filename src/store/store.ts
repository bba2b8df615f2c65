// The host's metadata store: the journal and its projections in one SQLite file, opened together.
import type BetterSqlite3 from 'better-sqlite3';
import type { Clock, IdSource } from '../core/ids.js';
import type { DomainEvent } from '../events/codecs.js';
import type { RecordedEvent } from '../events/envelope.js';
import { Journal } from '../events/journal.js';
import { bindProjector } from '../projections/index.js';
import { Queries } from '../projections/queries.js';
import { type RebuildResult, rebuildProjections } from '../projections/rebuild.js';
import { openDatabase } from './database.js';
import { SyncState } from './sync-state.js';

export class Store {
  readonly journal: Journal;
  readonly queries: Queries;
  readonly syncState: SyncState;

  private constructor(
    readonly db: BetterSqlite3.Database,
    hostId: string,
    clock: Clock,
    ids: IdSource,
  ) {
    this.journal = new Journal(db, hostId, clock, ids, bindProjector(db));
    this.queries = new Queries(db);
    this.syncState = new SyncState(db);
  }

  static open(file: string, hostId: string, clock: Clock, ids: IdSource): Store {
    const { db, projectionsStale } = openDatabase(file);
    const store = new Store(db, hostId, clock, ids);
    if (projectionsStale) store.rebuild();
    return store;
  }

  /** Appends events (one transaction) and returns them as recorded; the projections follow in the same transaction. */
  append(events: readonly DomainEvent[]): RecordedEvent[] {
    return this.journal.append(events);
  }

  rebuild(toSeq?: number): RebuildResult {
    return rebuildProjections(this.db, this.journal, toSeq);
  }

  close(): void {
    this.db.close();
  }
}
