// Read-only queries over the directory_meta projection: what `bt add` compares a walk with, and what a
// tree restore makes.
import type BetterSqlite3 from 'better-sqlite3';
import type { DirectoryMeta } from '../events/codecs.js';
import type { Directory } from './queries.js';
import { LATEST, NAME_UNDER, underParams } from './under.js';

/** The newest row of each name under @under by @at (SQLite takes a bare column from the row that gave MAX). */
const NEWEST_UNDER = (columns: string): string => `
  SELECT name, ${columns}, MAX(seq) FROM directory_meta
  WHERE directory_id = @dir AND ${NAME_UNDER} AND recorded_at <= @at
  GROUP BY name`;

type MaybeRemoved = Omit<DirectoryMeta, 'mode'> & { mode: number | null };
/** A row without metadata records a removal. */
const metaOf = (r: MaybeRemoved): DirectoryMeta | undefined =>
  r.mode === null ? undefined : { mode: r.mode, uid: r.uid, gid: r.gid, mtime_ns: r.mtime_ns };

export class DirectoryMetaQueries {
  private readonly stmts;

  constructor(db: BetterSqlite3.Database) {
    this.stmts = {
      newestUnder: db.prepare(NEWEST_UNDER('mode, uid, gid, mtime_ns')),
      // The same rows as one text each (directoryKey's), NULL for a removal: a scan compares 20k of them.
      keysUnder: db.prepare(NEWEST_UNDER(`mode || ' ' || uid || ' ' || gid || ' ' || mtime_ns`)).raw(true),
      anyUnder: db.prepare(`SELECT EXISTS (SELECT 1 FROM (${NEWEST_UNDER('mode')}) WHERE mode IS NOT NULL)`).pluck(),
      newestOf: db.prepare('SELECT mode, uid, gid, mtime_ns FROM directory_meta WHERE directory_id = ? AND name = ? ORDER BY seq DESC LIMIT 1'),
    };
  }

  /**
   * The metadata last recorded at or before `atIso` of each directory named `under` or below it that was
   * there then (names relative to the tracked directory, '' for itself). Without `atIso`, the newest.
   */
  asOf(directory: Directory, under: string, atIso = LATEST): Map<string, DirectoryMeta> {
    const out = new Map<string, DirectoryMeta>();
    for (const r of this.stmts.newestUnder.all(underParams(directory, under, atIso)) as (MaybeRemoved & { name: string })[]) {
      const meta = metaOf(r);
      if (meta) out.set(r.name, meta);
    }
    return out;
  }

  /** Whether `asOf` would name any directory. */
  anyUnder(directory: Directory, under: string, atIso = LATEST): boolean {
    return this.stmts.anyUnder.get(underParams(directory, under, atIso)) === 1;
  }

  /** `directoryKey` of the newest metadata of each directory under `under` not recorded removed, by name. */
  keysUnder(directory: Directory, under: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [name, key] of this.stmts.keysUnder.iterate(underParams(directory, under, LATEST)) as Iterable<[string, string | null]>) {
      if (key !== null) out.set(name, key);
    }
    return out;
  }

  /** The newest recorded metadata of one directory, if it is not recorded removed. */
  of(directory: Directory, name: string): DirectoryMeta | undefined {
    const r = this.stmts.newestOf.get(directory.id, name) as MaybeRemoved | undefined;
    return r && metaOf(r);
  }
}
