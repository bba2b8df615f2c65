// What a projection is: its tables and a pure apply step, run in the journal's append transaction.
import type BetterSqlite3 from 'better-sqlite3';
import type { ReplayedEvent } from '../events/envelope.js';

export interface Projection {
  readonly name: string;
  /** The tables it owns, in the order they are created (rebuild empties them all). */
  readonly tables: readonly string[];
  /** Tables only: replay fills them before `indexes` are built. */
  readonly ddl: string;
  /** Secondary and unique indexes; built after a rebuild's replay (faster), checked then. */
  readonly indexes: string;
  /** Prepares statements once; the returned step reads only the event and the projection's own tables. */
  bind(db: BetterSqlite3.Database): (rec: ReplayedEvent) => void;
  /** For a rebuild, when it can do better than `bind`: the same end state once `finish` ran. */
  bindReplay?(db: BetterSqlite3.Database): { apply: (rec: ReplayedEvent) => void; finish: () => void };
}

/** Columns of a snapshot's file metadata, shared by the staging queue and file_snapshots. */
export const metaColumnsDdl = `
  kind         TEXT    NOT NULL,
  size         INTEGER NOT NULL,
  mode         INTEGER NOT NULL,
  uid          INTEGER NOT NULL,
  gid          INTEGER NOT NULL,
  atime_ns     TEXT    NOT NULL,
  mtime_ns     TEXT    NOT NULL,
  ctime_ns     TEXT    NOT NULL,
  birthtime_ns TEXT,
  dev          TEXT    NOT NULL,
  ino          TEXT    NOT NULL,
  link_target  TEXT`;

export const metaColumns = [
  'kind', 'size', 'mode', 'uid', 'gid', 'atime_ns', 'mtime_ns', 'ctime_ns', 'birthtime_ns', 'dev', 'ino', 'link_target',
] as const;
