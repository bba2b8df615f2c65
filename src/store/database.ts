// Opens the host's SQLite database: WAL, durable commits, deliberate busy waits, schema in place.
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import { errnoCode, integrityError, userError } from '../core/errors.js';
import { journalSchema } from '../events/journal.js';
import { LocalSettings, localSettingsSchema } from './local-settings.js';
import { syncStateSchema } from './sync-state.js';
import { PROJECTION_SCHEMA_VERSION, createProjectionTables } from '../projections/index.js';
import { makeDirs } from '../fs/make-dirs.js';

/** How long a writer waits for another bt process's transaction before giving up (see ADR 0005). */
export const BUSY_TIMEOUT_MS = 15_000;

/** SQLite's page cache: enough for what `bt add` writes (keys in order) and for reads in pages. */
const CACHE_KIB = 8 * 1024;
/**
 * `bt backup` inserts content ids, which are random keys: a batch dirties pages all over the contents
 * tables and their indexes. A cache that holds a whole batch's pages writes each to the WAL once per commit
 * instead of spilling it repeatedly (half the WAL writes of SQLite's default 2 MiB).
 */
const BATCH_CACHE_KIB = 16 * 1024;

export function widenCacheForBatches(db: BetterSqlite3.Database): void {
  db.pragma(`cache_size = -${BATCH_CACHE_KIB}`);
}

export interface OpenedDatabase {
  readonly db: BetterSqlite3.Database;
  /** True when the projections were made by an older bt and must be rebuilt by replay. */
  readonly projectionsStale: boolean;
}

export function openDatabase(file: string): OpenedDatabase {
  makeDirs(dirname(file), 0o700);
  // SQLite would take an empty file for a new database: a truncated one would start a second journal.
  if (statSync(file, { throwIfNoEntry: false })?.size === 0) {
    throw integrityError(
      `the database ${file} is empty (0 bytes): it was truncated, or its creation never finished`,
      'move it aside and run `bt recover` to rebuild it from a vault (delete it instead if this machine never backed up)',
    );
  }
  let db: BetterSqlite3.Database;
  try {
    db = new Database(file);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // FULL: a commit survives power loss, so nothing the journal says happened can be forgotten.
    db.pragma('synchronous = FULL');
    db.pragma(`cache_size = -${CACHE_KIB}`);
    db.exec(journalSchema);
    db.exec(syncStateSchema);
    db.exec(localSettingsSchema);
    const version = db.pragma('user_version', { simple: true }) as number;
    const hasEvents = db.prepare('SELECT 1 FROM journal LIMIT 1').get() !== undefined;
    if (hasEvents && version > PROJECTION_SCHEMA_VERSION) {
      // Its journal may hold events this bt cannot read: rebuilding would fail on them, or drop what they say.
      db.close();
      throw userError(
        `the database ${file} was made by a newer bt (projections v${version}; this bt knows v${PROJECTION_SCHEMA_VERSION})`,
        'run the newer bt: upgrade this one',
      );
    }
    // Projections of another shape are not patched: the caller rebuilds them from the journal.
    if (hasEvents && version !== PROJECTION_SCHEMA_VERSION) return { db, projectionsStale: true };
    createProjectionTables(db);
    if (version !== PROJECTION_SCHEMA_VERSION) db.pragma(`user_version = ${PROJECTION_SCHEMA_VERSION}`);
    return { db, projectionsStale: false };
  } catch (err) {
    throw databaseOpenError(file, err);
  }
}

export function databaseOpenError(file: string, err: unknown): Error {
  const code = errnoCode(err);
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return integrityError(
      `the database ${file} is damaged (${code})`,
      'move it aside and run `bt recover` to rebuild it from a vault (if only a projection is damaged, `bt rebuild` may be enough)',
    );
  }
  if (code === 'SQLITE_CANTOPEN' || code === 'EACCES') return userError(`cannot open the database ${file} (${code})`, 'check that its directory exists and is yours');
  if (code?.startsWith('SQLITE_READONLY')) {
    return userError(`cannot write the database ${file} (${code})`, 'check that it, its -wal and -shm files and their directory are yours and writable');
  }
  if (code === 'SQLITE_BUSY') return new Error(`the database ${file} is busy`);
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * The host id whose journal the database at `file` holds, read without changing it; undefined when there is
 * no such file, no journal yet, or it cannot be read.
 */
/**
 * How many contents the journal in `file` records in the vault `vault` (0: none, no such file, or it cannot
 * be read). Read-only, for commands that do not open the host's store.
 */
export function recordedContentsIn(file: string, vault: string): number {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const n: unknown = db.prepare('SELECT COUNT(*) FROM content_locations WHERE vault = ?').pluck().get(vault);
    return typeof n === 'number' ? n : 0;
  } catch {
    return 0;
  } finally {
    db?.close();
  }
}

/**
 * Records, in the database at `file` if there is one, the id of the vault this host now uses under `vault`
 * (`bt config vault init`: setting a vault up, or accepting one found there, is the user's say-so).
 */
export function recordVaultId(file: string, vault: string, id: string): void {
  // No database yet: the first backup that writes its journal there records it.
  if (!existsSync(file)) return;
  const db = new Database(file, { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    new LocalSettings(db).set(`vault_id:${vault}`, id);
  } finally {
    db.close();
  }
}

export function journalOwnerOf(file: string): string | undefined {
  let db: BetterSqlite3.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    const row: unknown = db.prepare('SELECT host_id FROM journal WHERE seq = 1').get();
    const owner = typeof row === 'object' && row !== null && 'host_id' in row ? row.host_id : undefined;
    return typeof owner === 'string' ? owner : undefined;
  } catch {
    return undefined;
  } finally {
    db?.close();
  }
}
