// Read-only queries over the projections (the seed's Database class). Nothing here touches the journal.
import type BetterSqlite3 from 'better-sqlite3';
import type { FileMeta } from '../events/codecs.js';
import { isUnder } from '../fs/paths.js';
import { DirectoryMetaQueries } from './directory-meta-queries.js';
import { type StatKey, statKeyText } from './stat-key.js';
import { underParams } from './under.js';

export interface Directory {
  readonly id: string;
  readonly path: string;
  readonly created_at: string;
}

export interface FileRecord {
  readonly id: string;
  readonly directory_id: string;
  readonly name: string;
  readonly current_snapshot_id: string | null;
  readonly deleted: boolean;
  readonly deleted_at: string | null;
  readonly created_at: string;
}

export interface Snapshot extends FileMeta {
  readonly id: string;
  readonly file_id: string;
  readonly content_id: string | null;
  readonly staged_at: string;
  readonly created_at: string;
  readonly seq: number;
}

export interface StagedOperation extends FileMeta {
  readonly stage_id: string;
  readonly file_id: string;
  readonly content_id: string | null;
  readonly staged_at: string;
  readonly seq: number;
  readonly directory_id: string;
  readonly name: string;
}


/**
 * A file of a directory with what a scan compares against: its current snapshot and its pending stage.
 * Deliberately small: a scan holds one per file of the tree.
 */
export interface TrackedFile {
  readonly fileId: string;
  readonly deleted: boolean;
  /** The current snapshot's `statKeyText`, null before the first backup. */
  readonly current: string | null;
  /** The pending stage, with its metadata's `statKeyText`. */
  readonly staged: { readonly stage_id: string; readonly stat: string } | null;
}

/** A file with a version (backed up or staged) that is not recorded deleted: its disappearance is news. */
export const isLiveFile = (f: TrackedFile): boolean => !f.deleted && (f.current !== null || f.staged !== null);

export interface NamedTrackedFile extends TrackedFile {
  /** Relative to its directory. */
  readonly name: string;
}

type FileRow = Omit<FileRecord, 'deleted'> & { deleted: number };
const FILE_COLUMNS = 'id, directory_id, name, current_snapshot_id, deleted, deleted_at, created_at';

/** Files `f` of a directory under `under` (parameters from `underParams`). */
const FILES_UNDER = `f.directory_id = @dir AND (@under = '' OR f.name = @under OR (f.name >= @lo AND f.name < @hi))`;
/** A column of file f's newest snapshot staged at or before @at. */
const LATEST_SNAPSHOT = (column: string): string =>
  `(SELECT x.${column} FROM file_snapshots x WHERE x.file_id = f.id AND x.staged_at <= @at ORDER BY x.seq DESC LIMIT 1)`;
/** File f's last deletion at or before @at. */
const LAST_DELETION = '(SELECT MAX(d.deleted_at) FROM file_deletions d WHERE d.file_id = f.id AND d.deleted_at <= @at)';
/** A page of tracked files, each with its pending stage when `withStage` (the columns the stat-only scan compares). */
const TRACKED_PAGE = (withStage: boolean): string => `
  SELECT f.name, f.id, f.deleted, f.current_stat,
         ${withStage ? 's.stage_id, s.kind, s.size, s.mode, s.mtime_ns, s.ctime_ns, s.ino' : 'NULL, NULL, NULL, NULL, NULL, NULL, NULL'}
  FROM files f ${withStage ? 'LEFT JOIN staging s ON s.file_id = f.id' : ''}
  WHERE ${FILES_UNDER} AND f.name > @after
  ORDER BY f.name LIMIT @limit`;
const toFile = (r: FileRow): FileRecord => ({ ...r, deleted: r.deleted !== 0 });


export class Queries {
  private readonly stmts;
  /** What is recorded of the directories inside tracked directories. */
  readonly directoryMeta: DirectoryMetaQueries;

  constructor(db: BetterSqlite3.Database) {
    this.directoryMeta = new DirectoryMetaQueries(db);
    this.stmts = {
      directories: db.prepare('SELECT * FROM directories ORDER BY path'),
      directoryById: db.prepare('SELECT * FROM directories WHERE id = ?'),
      fileByName: db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE directory_id = ? AND name = ?`),
      fileById: db.prepare(`SELECT ${FILE_COLUMNS} FROM files WHERE id = ?`),
      snapshotsForFile: db.prepare('SELECT * FROM file_snapshots WHERE file_id = ? ORDER BY seq'),
      snapshotById: db.prepare('SELECT * FROM file_snapshots WHERE id = ?'),
      // The device of a backed-up file still there: where the tracked directory's files were last seen.
      recordedDevice: db.prepare(
        `SELECT s.dev FROM files f JOIN file_snapshots s ON s.id = f.current_snapshot_id
         WHERE f.directory_id = ? AND f.deleted = 0 AND s.dev IS NOT NULL LIMIT 1`,
      ).pluck(),
      stagedForFile: db.prepare(
        `SELECT s.*, f.directory_id, f.name FROM staging s JOIN files f ON f.id = s.file_id WHERE s.file_id = ?`,
      ),
      staged: db.prepare(
        `SELECT s.*, f.directory_id, f.name FROM staging s JOIN files f ON f.id = s.file_id ORDER BY s.seq`,
      ),
      stagedCount: db.prepare('SELECT COUNT(*) AS n FROM staging'),
      // Keyset pages in name order (the files_by_name index): a tree restore holds one page at a time.
      latestUnder: db.prepare(
        `SELECT f.name AS file_name, s.*, ${LAST_DELETION} AS deleted_at
         FROM files f JOIN file_snapshots s ON s.id = ${LATEST_SNAPSHOT('id')}
         WHERE ${FILES_UNDER} AND f.name > @after
         ORDER BY f.name LIMIT @limit`,
      ),
      latestTimeOf: db.prepare(
        `SELECT ${LATEST_SNAPSHOT('staged_at')} AS staged_at, ${LAST_DELETION} AS deleted_at FROM files f WHERE f.directory_id = @dir AND f.name = @name`,
      ),
      latestTimesBelow: db.prepare(
        `SELECT f.name AS name, ${LATEST_SNAPSHOT('staged_at')} AS staged_at, ${LAST_DELETION} AS deleted_at FROM files f
         WHERE f.directory_id = @dir AND f.name >= @lo AND f.name < @hi AND f.name > @after ORDER BY f.name LIMIT @limit`,
      ),
      latestTimesUnder: db.prepare(
        `SELECT ${LATEST_SNAPSHOT('staged_at')} AS staged_at, ${LAST_DELETION} AS deleted_at FROM files f WHERE ${FILES_UNDER}`,
      ).raw(true),
      storedInSample: db.prepare(`
        SELECT content_id FROM (SELECT content_id FROM content_locations WHERE vault = @vault ORDER BY stored_at, content_id LIMIT @n)
        UNION SELECT content_id FROM (SELECT content_id FROM content_locations WHERE vault = @vault ORDER BY stored_at DESC, content_id DESC LIMIT @n)`).pluck(),
      onlyIn: db
        .prepare(
          `SELECT COUNT(*) FROM (SELECT DISTINCT content_id FROM file_snapshots WHERE content_id IS NOT NULL) s
           WHERE EXISTS (SELECT 1 FROM content_locations l WHERE l.content_id = s.content_id AND l.vault = @vault)
             AND NOT EXISTS (SELECT 1 FROM content_locations l JOIN json_each(@others) o ON l.vault = o.value WHERE l.content_id = s.content_id)`,
        )
        .pluck(),
      snapshotContents: db.prepare('SELECT content_id AS id, MAX(size) AS size FROM file_snapshots WHERE content_id IS NOT NULL GROUP BY content_id ORDER BY content_id'),
      allLocations: db.prepare('SELECT content_id, vault FROM content_locations'),
      snapshotsWithContent: db.prepare(
        `SELECT f.id AS file_id, d.path AS dir, f.name AS name, s.id AS snapshot_id
         FROM file_snapshots s JOIN files f ON f.id = s.file_id JOIN directories d ON d.id = f.directory_id
         WHERE s.content_id = ? ORDER BY d.path, f.name`,
      ),
      stagedWithContent: db.prepare('SELECT stage_id FROM staging WHERE content_id = ?').pluck(),
      liveStageIds: db.prepare('SELECT stage_id FROM staging WHERE stage_id IN (SELECT value FROM json_each(?))').pluck(),
      holderCount: db.prepare('SELECT COUNT(*) FROM content_locations WHERE content_id = ?').pluck(),
      stagedPage: db.prepare(
        `SELECT s.*, f.directory_id, f.name FROM staging s JOIN files f ON f.id = s.file_id WHERE s.seq > ? ORDER BY s.seq LIMIT ?`,
      ),
      locationsOf: db.prepare(
        'SELECT content_id, vault FROM content_locations WHERE content_id IN (SELECT value FROM json_each(?))',
      ),
      locations: db.prepare('SELECT vault FROM content_locations WHERE content_id = ? ORDER BY stored_at, vault'),
      contentCount: db.prepare("SELECT COALESCE((SELECT contents FROM content_counts WHERE vault = ''), 0)").pluck(),
      locationCount: db.prepare('SELECT COALESCE((SELECT contents FROM content_counts WHERE vault = ?), 0)').pluck(),
      contentsNotIn: db.prepare(
        `SELECT id, size FROM contents c WHERE id > ?
           AND NOT EXISTS (SELECT 1 FROM content_locations l WHERE l.content_id = c.id AND l.vault = ?)
         ORDER BY id LIMIT ?`,
      ),
      // A file's pending stage comes by its unique index: one probe per file, and none kept in memory.
      trackedPage: db.prepare(TRACKED_PAGE(true)).raw(true),
      // The same rows when nothing is staged (the usual state after a backup), without a staging probe per file.
      trackedPageUnstaged: db.prepare(TRACKED_PAGE(false)).raw(true),
      anyStaged: db.prepare('SELECT EXISTS (SELECT 1 FROM staging)').pluck(),
      lastDeletion: db.prepare('SELECT deleted_at FROM file_deletions WHERE file_id = ? AND deleted_at <= ? ORDER BY seq DESC LIMIT 1'),
    };
  }

  listDirectories(): Directory[] {
    return this.stmts.directories.all() as Directory[];
  }

  findDirectoryById(id: string): Directory | undefined {
    return this.stmts.directoryById.get(id) as Directory | undefined;
  }

  /** The tracked directory whose path is exactly `path`. */
  findDirectoryByPath(path: string): Directory | undefined {
    return this.listDirectories().find((d) => d.path === path);
  }

  /** The tracked directory that contains `path` (itself or the nearest ancestor). */
  searchDirectoryForPath(path: string): Directory | undefined {
    let best: Directory | undefined;
    for (const d of this.listDirectories()) {
      if (isUnder(path, d.path) && (!best || d.path.length > best.path.length)) best = d;
    }
    return best;
  }

  /** Tracked directories strictly below `prefix`. */
  findDirectoriesByPathPrefix(prefix: string): Directory[] {
    return this.listDirectories().filter((d) => d.path !== prefix && isUnder(d.path, prefix));
  }

  findFileByPath(directory: Directory, name: string): FileRecord | undefined {
    const row = this.stmts.fileByName.get(directory.id, name) as FileRow | undefined;
    return row && toFile(row);
  }

  findFileById(id: string): FileRecord | undefined {
    const row = this.stmts.fileById.get(id) as FileRow | undefined;
    return row && toFile(row);
  }

  /** Versions of a file, oldest first (version N is the Nth element). */
  findFileSnapshotsForFile(file: FileRecord): Snapshot[] {
    return this.snapshotsOfFile(file.id);
  }

  snapshotsOfFile(fileId: string): Snapshot[] {
    return this.stmts.snapshotsForFile.all(fileId) as Snapshot[];
  }

  findFileSnapshotByChecksum(file: FileRecord, checksumPrefix: string): Snapshot[] {
    return this.findFileSnapshotsForFile(file).filter((s) => s.content_id?.startsWith(checksumPrefix));
  }

  findSnapshotById(id: string): Snapshot | undefined {
    return this.stmts.snapshotById.get(id) as Snapshot | undefined;
  }

  findStagedForFile(fileId: string): StagedOperation | undefined {
    return this.stmts.stagedForFile.get(fileId) as StagedOperation | undefined;
  }

  /** The staging queue in the order things were staged. */
  stagedOperations(): StagedOperation[] {
    return this.stmts.staged.all() as StagedOperation[];
  }

  /** The next `limit` staged operations after sequence number `afterSeq`, in staging order. */
  stagedPage(afterSeq: number, limit: number): StagedOperation[] {
    return this.stmts.stagedPage.all(afterSeq, limit) as StagedOperation[];
  }

  /** Which vaults hold each of these contents: one query for a whole batch. */
  contentLocationsOf(contentIds: readonly string[]): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    const rows = this.stmts.locationsOf.all(JSON.stringify(contentIds)) as { content_id: string; vault: string }[];
    for (const r of rows) {
      let set = out.get(r.content_id);
      if (!set) out.set(r.content_id, (set = new Set()));
      set.add(r.vault);
    }
    return out;
  }

  /** How many contents the vault `vault` does not hold, of all those some vault holds (two kept counts). */
  contentsLacking(vault: string): number {
    return (this.stmts.contentCount.get() as number) - (this.stmts.locationCount.get(vault) as number);
  }

  /** How many contents the journal says `vault` holds. */
  contentsHeldBy(vault: string): number {
    return this.stmts.locationCount.get(vault) as number;
  }

  /** A page of the contents `vault` does not hold, in id order after `after`. */
  contentsNotIn(vault: string, after: string, limit: number): { id: string; size: number }[] {
    return this.stmts.contentsNotIn.all(after, vault, limit) as { id: string; size: number }[];
  }

  /** Which of these names are stage ids in the queue (to tell staged copies from leftovers, a page at a time). */
  liveStageIds(names: readonly string[]): Set<string> {
    return new Set(this.stmts.liveStageIds.all(JSON.stringify(names)) as string[]);
  }

  /** How many vaults are known to hold a content. */
  holderCount(contentId: string): number {
    return this.stmts.holderCount.get(contentId) as number;
  }

  /** Every content some snapshot needs. */
  /** Every content a snapshot needs, with its length. */
  snapshotContents(): { id: string; size: number }[] {
    return this.stmts.snapshotContents.all() as { id: string; size: number }[];
  }

  /** Which vaults the journal says hold each content. */
  allContentLocations(): Map<string, Set<string>> {
    const out = new Map<string, Set<string>>();
    for (const r of this.stmts.allLocations.iterate() as Iterable<{ content_id: string; vault: string }>) {
      let set = out.get(r.content_id);
      if (!set) out.set(r.content_id, (set = new Set()));
      set.add(r.vault);
    }
    return out;
  }

  /** The files and version numbers whose content this is (what a lost object would cost). */
  versionsWithContent(contentId: string): { path: string; version: number }[] {
    const rows = this.stmts.snapshotsWithContent.all(contentId) as { file_id: string; dir: string; name: string; snapshot_id: string }[];
    return rows.map((r) => ({
      path: `${r.dir}/${r.name}`,
      version: this.snapshotsOfFile(r.file_id).findIndex((s) => s.id === r.snapshot_id) + 1,
    }));
  }

  /** Stages whose (pending) copy holds this content. */
  stagesWithContent(contentId: string): string[] {
    return this.stmts.stagedWithContent.all(contentId) as string[];
  }

  /** Up to 2n contents the journal records stored in a vault of this name: its first n and its last n. */
  contentsStoredInSample(vault: string, n: number): string[] {
    return this.stmts.storedInSample.all({ vault, n }) as string[];
  }

  /** How many contents that snapshots need `vault` holds and none of `others` does. */
  contentsOnlyIn(vault: string, others: readonly string[]): number {
    return this.stmts.onlyIn.get({ vault, others: JSON.stringify(others) }) as number;
  }

  /**
   * For files under `under` in a directory, in name order after `after` (at most `limit`): the newest
   * version staged at or before `atIso`, and the last deletion at or before then.
   */
  versionsAsOf(directory: Directory, under: string, atIso: string, after: string, limit: number): { name: string; snapshot: Snapshot; deletedAt: string | null }[] {
    const rows = this.stmts.latestUnder.all({ ...underParams(directory, under, atIso), after, limit }) as (Snapshot & { file_name: string; deleted_at: string | null })[];
    return rows.map(({ file_name, deleted_at, ...snapshot }) => ({ name: file_name, snapshot, deletedAt: deleted_at }));
  }

  /** When the file named `name` got the version it had as of `atIso`, and its last deletion by then; undefined if it had none. */
  versionTimeOf(directory: Directory, name: string, atIso: string): { stagedAt: string; deletedAt: string | null } | undefined {
    const row = this.stmts.latestTimeOf.get({ dir: directory.id, name, at: atIso }) as { staged_at: string | null; deleted_at: string | null } | undefined;
    return row?.staged_at ? { stagedAt: row.staged_at, deletedAt: row.deleted_at } : undefined;
  }

  /** The same for the files below directory `name` (`name/...`), a page at a time after `after`. */
  versionTimesBelow(directory: Directory, name: string, atIso: string, after: string, limit: number): { name: string; stagedAt: string | null; deletedAt: string | null }[] {
    const rows = this.stmts.latestTimesBelow.all({ dir: directory.id, lo: `${name}/`, hi: `${name}0`, at: atIso, after, limit }) as { name: string; staged_at: string | null; deleted_at: string | null }[];
    return rows.map((r) => ({ name: r.name, stagedAt: r.staged_at, deletedAt: r.deleted_at }));
  }

  /** The staged and deletion times `versionsAsOf` would give, for every file under `under` (to count first). */
  *versionTimesAsOf(directory: Directory, under: string, atIso: string): Generator<{ stagedAt: string; deletedAt: string | null }> {
    for (const [stagedAt, deletedAt] of this.stmts.latestTimesUnder.iterate(underParams(directory, under, atIso)) as Iterable<[string | null, string | null]>) {
      if (stagedAt !== null) yield { stagedAt, deletedAt };
    }
  }

  stagedCount(): number {
    return (this.stmts.stagedCount.get() as { n: number }).n;
  }

  /** When the file was last recorded deleted at or before `atIso` (an ISO time), if ever. */
  lastDeletion(fileId: string, atIso: string): string | undefined {
    return (this.stmts.lastDeletion.get(fileId, atIso) as { deleted_at: string } | undefined)?.deleted_at;
  }

  /** Vaults known to hold a content, in the order they got it. */
  contentLocations(contentId: string): string[] {
    return (this.stmts.locations.all(contentId) as { vault: string }[]).map((r) => r.vault);
  }

  /** The device number (decimal) a backed-up, not deleted file of the directory was on; undefined if none. */
  recordedDevice(directory: Directory): string | undefined {
    const dev: unknown = this.stmts.recordedDevice.get(directory.id);
    return typeof dev === 'string' ? dev : undefined;
  }

  /** Whether a file under `under` (or named so) is tracked and not recorded deleted; reads a page at a time. */
  hasLiveFilesUnder(directory: Directory, under: string): boolean {
    for (let after = '', page; (page = this.trackedPage(directory, under, after, 1000)).length > 0; after = page[page.length - 1]!.name) {
      if (page.some(isLiveFile)) return true;
    }
    return false;
  }

  /** The files under `under` named after `after`, in name order (SQLite's: by UTF-8 bytes), `limit` of them. */
  trackedPage(directory: Directory, under: string, after: string, limit: number): NamedTrackedFile[] {
    const stagedKey = (r: readonly unknown[], at: number): string => statKeyText({
      kind: r[at] as StatKey['kind'], size: r[at + 1] as number, mode: r[at + 2] as number,
      mtime_ns: r[at + 3] as string, ctime_ns: r[at + 4] as string, ino: r[at + 5] as string,
    });
    type Row = [string, string, number, string | null, ...unknown[]];
    const stmt = this.stmts.anyStaged.get() === 1 ? this.stmts.trackedPage : this.stmts.trackedPageUnstaged;
    const rows = stmt.all({ ...underParams(directory, under), after, limit }) as Row[];
    return rows.map((r) => ({
      name: r[0],
      fileId: r[1],
      deleted: r[2] !== 0,
      current: r[3],
      staged: r[4] === null ? null : { stage_id: r[4] as string, stat: stagedKey(r, 5) },
    }));
  }
}
