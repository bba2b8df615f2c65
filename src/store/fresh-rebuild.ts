// A rebuild into a new database file, for projections whose pages are damaged: an in-place rebuild cannot
// even drop a table whose pages do not parse. The journal and the local tables (vault sync state, local
// settings) are copied by SQL into a fresh file, the projections are replayed there, and the fresh file
// takes the old one's name by rename. The damaged file is kept beside it, under another name.
import { existsSync, linkSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { errnoCode, integrityError, userError } from '../core/errors.js';
import type { Clock, IdSource } from '../core/ids.js';
import { Journal } from '../events/journal.js';
import { fsyncPath } from '../fs/durable.js';
import { projectionTables } from '../projections/index.js';
import { rebuildProjections } from '../projections/rebuild.js';
import { openDatabase } from './database.js';

/** SQLite found a page it cannot parse. */
export const isDamage = (err: unknown): boolean => errnoCode(err)?.startsWith('SQLITE_CORRUPT') === true;

export interface FreshRebuild {
  readonly events: number;
  /** Where the damaged file was kept. */
  readonly damagedCopy: string;
}

/**
 * Rebuilds the database `file`, open as `old` (which this closes), into a fresh file that replaces it. The
 * caller holds the host lock. Nothing is replaced unless every step before the rename succeeded: a journal
 * page that is damaged too stops it, with `bt recover` as the way out.
 */
export async function rebuildIntoFreshFile(
  old: BetterSqlite3.Database,
  file: string,
  hostId: string,
  clock: Clock,
  ids: IdSource,
): Promise<FreshRebuild> {
  const freshFile = `${file}.rebuild`;
  removeDatabaseFiles(freshFile);
  const { db: fresh } = openDatabase(freshFile);
  let events: number;
  let damagedCopy: string;
  try {
    copyKeptTables(fresh, file);
    // Pages that parse can still hold damaged rows: the copy must be the chain the vaults know.
    const journal = new Journal(fresh, hostId, clock, ids, () => {});
    const chain = journal.verifyChain();
    if (!chain.ok) {
      throw integrityError(
        `the journal is damaged too (event ${chain.seq}: ${chain.problem}); nothing was replaced`,
        'move the data directory aside and run `bt recover` to rebuild it from a vault',
      );
    }
    events = rebuildProjections(fresh, journal).events;
    // SQLite checkpoints and removes the -wal and -shm files when the last connection to a database closes:
    // either one still there means that did not happen. For the fresh file, its log would be lost in the
    // rename. For the old file, another connection is open (a `bt watch` between jobs, a `bt log`): it would
    // go on writing to the old file, and frames left in its log would be applied to the fresh file, which
    // they do not describe. So nothing is replaced then, and the old file's are never removed here.
    fresh.close();
    if (existsSync(`${freshFile}-wal`)) throw new Error(`the rebuilt database ${freshFile} kept its write-ahead log`);
    old.close();
    if (existsSync(`${file}-wal`) || existsSync(`${file}-shm`)) {
      throw userError('the database is open in another bt process (a `bt watch`?); nothing was replaced', 'stop it, then run `bt rebuild` again');
    }
    // A link first, then one rename: there is never a moment without a database under the expected name.
    damagedCopy = unusedName(`${file}.damaged`);
    linkSync(file, damagedCopy);
    renameSync(freshFile, file);
  } catch (err) {
    if (fresh.open) fresh.close();
    removeDatabaseFiles(freshFile);
    throw err;
  }
  await fsyncPath(dirname(file));
  return { events, damagedCopy };
}

/** `path`, or `path-2`, `path-3`, ...: an earlier damaged copy is not overwritten. */
function unusedName(path: string): string {
  let name = path;
  for (let n = 2; existsSync(name); n++) name = `${path}-${n}`;
  return name;
}

/** Every table that is not a projection, copied row for row from the damaged file into `fresh`. */
function copyKeptTables(fresh: BetterSqlite3.Database, file: string): void {
  fresh.prepare('ATTACH DATABASE ? AS damaged').run(file);
  try {
    const projections = new Set(projectionTables());
    const names = fresh
      .prepare("SELECT name FROM damaged.sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
      .pluck()
      .all() as string[];
    const known = new Set(fresh.prepare("SELECT name FROM main.sqlite_schema WHERE type = 'table'").pluck().all() as string[]);
    fresh.transaction(() => {
      for (const name of names.filter((n) => !projections.has(n))) {
        // A table this bt does not make could only be lost by a copy that skipped it: stop instead.
        if (!known.has(name)) throw integrityError(`the database has a table this bt does not know (${name}); nothing was replaced`, 'upgrade bt');
        const order = name === 'journal' ? ' ORDER BY seq' : '';
        try {
          fresh.exec(`INSERT INTO main."${name}" SELECT * FROM damaged."${name}"${order}`);
        } catch (err) {
          // The chain trigger refuses a row whose links do not match: a damaged journal too.
          const brokenChain = name === 'journal' && errnoCode(err) === 'SQLITE_CONSTRAINT_TRIGGER';
          if (!isDamage(err) && !brokenChain) throw err;
          throw integrityError(
            `the database's ${name} table is damaged too (${brokenChain ? 'its rows do not form one hash chain' : errnoCode(err)}), not only its projections; nothing was replaced`,
            'move the data directory aside and run `bt recover` to rebuild it from a vault',
          );
        }
      }
    })();
  } finally {
    fresh.exec('DETACH DATABASE damaged');
  }
}

function removeDatabaseFiles(file: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${file}${suffix}`, { force: true });
}
