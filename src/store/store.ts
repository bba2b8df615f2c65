// The host's metadata store: the journal and its projections in one SQLite file, opened together.
import type BetterSqlite3 from 'better-sqlite3';
import type { Clock, IdSource } from '../core/ids.js';
import type { DomainEvent } from '../events/codecs.js';
import type { RecordedEvent } from '../events/envelope.js';
import { Journal } from '../events/journal.js';
import { bindProjector } from '../projections/index.js';
import { Queries } from '../projections/queries.js';
import { type RebuildResult, rebuildProjections } from '../projections/rebuild.js';
import { openDatabase, widenCacheForBatches } from './database.js';
import { LocalSettings } from './local-settings.js';
import { SyncState } from './sync-state.js';

export class Store {
  readonly journal: Journal;
  readonly queries: Queries;
  readonly syncState: SyncState;
  readonly settings: LocalSettings;

  private constructor(
    readonly db: BetterSqlite3.Database,
    readonly hostId: string,
    private readonly clock: Clock,
    private readonly ids: IdSource,
  ) {
    this.journal = new Journal(db, hostId, clock, ids, bindProjector(db));
    this.queries = new Queries(db);
    this.syncState = new SyncState(db);
    this.settings = new LocalSettings(db);
  }

  /** `beforeRebuild` is told when projections an older bt made must be rebuilt first (it may take a while). */
  static open(file: string, hostId: string, clock: Clock, ids: IdSource, beforeRebuild: () => void = () => {}): Store {
    const { db, projectionsStale } = openDatabase(file);
    // Projections of an older shape are rebuilt before any statement is prepared against their tables.
    if (projectionsStale) {
      beforeRebuild();
      rebuildProjections(db, new Journal(db, hostId, clock, ids, () => {}));
    }
    return new Store(db, hostId, clock, ids);
  }

  /** The same database, appending as another host (after `bt recover` adopts a host id). */
  forHost(hostId: string): Store {
    return new Store(this.db, hostId, this.clock, this.ids);
  }

  /** Appends events (one transaction) and returns them as recorded; the projections follow in the same transaction. */
  append(events: readonly DomainEvent[]): RecordedEvent[] {
    return this.journal.append(events);
  }

  /**
   * Runs `work` on one view of the database, a read transaction held across its awaits: a read in pages
   * (a tree restore) sees none of the commits another bt process makes meanwhile.
   */
  async readSnapshot<T>(work: () => Promise<T>): Promise<T> {
    if (this.db.inTransaction) return work();
    this.db.exec('BEGIN');
    try {
      return await work();
    } finally {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    }
  }

  /** Before appending batches that write random keys (a backup's content ids): see database.ts. */
  widenCacheForBatches(): void {
    widenCacheForBatches(this.db);
  }

  rebuild(toSeq?: number): RebuildResult {
    return rebuildProjections(this.db, this.journal, toSeq);
  }

  close(): void {
    this.db.close();
  }
}
