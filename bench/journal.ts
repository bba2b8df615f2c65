// Journal figures: batched append of FileStaged events, and rebuilding all projections from a large journal.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type BetterSqlite3 from 'better-sqlite3';
import type { DomainEvent } from '../src/events/codecs.js';
import { ulidSource } from '../src/core/ids.js';
import { defaultReplayReader, replaysOffThread } from '../src/events/off-thread-replay.js';
import { rebuildProjections } from '../src/projections/rebuild.js';
import { Store } from '../src/store/store.js';

export interface JournalFigures {
  readonly appendEvents: number;
  readonly appendSeconds: number;
  /** The same rows the append wrote, inserted by SQLite alone (no JS per event): the floor under it. */
  readonly ceiling: { readonly journalOnly: number; readonly withProjections: number };
  readonly rebuildEvents: number;
  readonly rebuildSeconds: number;
}

const HOST = '01HZZZZZZZZZZZZZZZZZZZZZZZ';

function stagedEvents(ids: (t: number) => string, directoryId: string, from: number, count: number): DomainEvent[] {
  const out: DomainEvent[] = [];
  for (let i = from; i < from + count; i++) {
    out.push({
      type: 'FileStaged',
      data: {
        stage_id: ids(Date.now()),
        file_id: ids(Date.now()),
        directory_id: directoryId,
        name: `dir${i % 97}/file-${i}.txt`,
        content_id: (i.toString(16).padStart(8, '0') + 'a'.repeat(56)).slice(0, 64),
        meta: {
          kind: 'file', size: i, mode: 0o644, uid: 1000, gid: 1000,
          atime_ns: '1735689600000000000', mtime_ns: '1735689600000000000', ctime_ns: '1735689600000000000',
          birthtime_ns: null, dev: '2049', ino: String(1000 + i), link_target: null,
        },
      },
    });
  }
  return out;
}

/**
 * Seconds SQLite takes to insert, in transactions of `batch` events, the rows `tables` hold: the same tables,
 * indexes and settings (WAL, synchronous FULL, the page cache bt uses), no triggers, values already made.
 * What an append costs beyond it is bt's (validation, canonical JSON, hashing, the projections' code).
 */
function sqliteCeiling(from: BetterSqlite3.Database, file: string, tables: readonly string[], batch: number, events: number): number {
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('cache_size = -8192');
  const copies = tables.map((table) => {
    const ddl = from.prepare("SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('table', 'index') AND sql IS NOT NULL ORDER BY type DESC").pluck().all(table) as string[];
    for (const sql of ddl) db.exec(sql);
    const rows = from.prepare(`SELECT * FROM ${table}`).raw(true).all() as unknown[][];
    const insert = db.prepare(`INSERT INTO ${table} VALUES (${rows[0]!.map(() => '?').join(', ')})`);
    // The journal holds one more row (DirectoryTracked) and files one per event: share them out per batch.
    return { rows, insert, perEvent: rows.length / events };
  });
  const insertBatch = db.transaction((from: number, to: number) => {
    for (const c of copies) {
      for (let i = Math.round(from * c.perEvent); i < Math.round(to * c.perEvent); i++) c.insert.run(c.rows[i]);
    }
  });
  spawnSync('sync');
  const t = process.hrtime.bigint();
  for (let i = 0; i < events; i += batch) insertBatch(i, Math.min(i + batch, events));
  const seconds = Number(process.hrtime.bigint() - t) / 1e9;
  db.close();
  for (const suffix of ['', '-wal', '-shm']) rmSync(file + suffix, { force: true });
  return seconds;
}

/** Stage then commit in pairs, so a rebuild replays the staging queue and the snapshot tables both. */
export function benchJournal(dir: string, appendCount: number, rebuildCount: number): JournalFigures {
  const ids = ulidSource();
  const clock = { now: () => Date.now() };
  const file = join(dir, 'journal-bench.db');
  rmSync(file, { force: true });
  const store = Store.open(file, HOST, clock, ids);
  const directoryId = ids(Date.now());
  store.append([{ type: 'DirectoryTracked', data: { directory_id: directoryId, path: '/bench' } }]);

  const BATCH = 5000;
  const batches: DomainEvent[][] = [];
  for (let i = 0; i < appendCount; i += BATCH) batches.push(stagedEvents(ids, directoryId, i, Math.min(BATCH, appendCount - i)));
  // As every bench step (measure.ts): nothing dirty in the page cache, so a step does not pay for the
  // writeback of the one before it (here, building the 1M-event journal writes about 1 GiB).
  spawnSync('sync');
  let t = process.hrtime.bigint();
  for (const b of batches) store.append(b);
  const appendSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  const ceiling = {
    journalOnly: sqliteCeiling(store.db, join(dir, 'ceiling.db'), ['journal'], BATCH, appendCount),
    withProjections: sqliteCeiling(store.db, join(dir, 'ceiling.db'), ['journal', 'files', 'staging'], BATCH, appendCount),
  };

  // Grow the journal to rebuildCount with commits of what was staged, then more stage/commit pairs.
  let n = store.journal.head().seq;
  let next = appendCount;
  const staged = store.queries.stagedOperations();
  const commits = (ops: typeof staged): DomainEvent[] =>
    ops.map((op) => ({
      type: 'SnapshotCommitted',
      data: {
        snapshot_id: ids(Date.now()), stage_id: op.stage_id, file_id: op.file_id, content_id: op.content_id,
        meta: {
          kind: op.kind, size: op.size, mode: op.mode, uid: op.uid, gid: op.gid, atime_ns: op.atime_ns,
          mtime_ns: op.mtime_ns, ctime_ns: op.ctime_ns, birthtime_ns: op.birthtime_ns, dev: op.dev, ino: op.ino,
          link_target: op.link_target,
        },
        staged_at: op.staged_at,
        stored: [],
      },
    }));
  for (let i = 0; i < staged.length; i += BATCH) store.append(commits(staged.slice(i, i + BATCH)));
  n = store.journal.head().seq;
  while (n < rebuildCount) {
    const count = Math.min(BATCH / 2, Math.ceil((rebuildCount - n) / 2));
    store.append(stagedEvents(ids, directoryId, next, count));
    next += count;
    store.append(commits(store.queries.stagedOperations()));
    n = store.journal.head().seq;
  }
  spawnSync('sync');
  t = process.hrtime.bigint();
  // As `bt rebuild` runs it: from the sources, the journal reader thread must be the build's.
  const reader = defaultReplayReader(new URL('../dist/replay-worker.js', import.meta.url));
  if (!replaysOffThread(reader, store.db, false, rebuildCount)) throw new Error('the rebuild would not read off-thread: run `npm run build` first');
  const r = rebuildProjections(store.db, store.journal, undefined, reader);
  const rebuildSeconds = Number(process.hrtime.bigint() - t) / 1e9;
  store.close();
  if (process.env.BT_BENCH_KEEP_DB) return { appendEvents: appendCount, appendSeconds, ceiling, rebuildEvents: r.events, rebuildSeconds };
  rmSync(file, { force: true });
  rmSync(`${file}-wal`, { force: true });
  rmSync(`${file}-shm`, { force: true });
  return { appendEvents: appendCount, appendSeconds, ceiling, rebuildEvents: r.events, rebuildSeconds };
}

if (process.argv[1]?.endsWith('journal.ts')) {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const dir = mkdtempSync(join(tmpdir(), 'bt-bench-'));
  const f = benchJournal(dir, Number(process.argv[2] ?? 100_000), Number(process.argv[3] ?? 1_000_000));
  console.log(`append ${f.appendEvents} FileStaged: ${f.appendSeconds.toFixed(2)} s = ${Math.round(f.appendEvents / f.appendSeconds)} events/s`);
  console.log(`ceiling: journal rows ${Math.round(f.appendEvents / f.ceiling.journalOnly)}/s, with projections ${Math.round(f.appendEvents / f.ceiling.withProjections)}/s`);
  console.log(`rebuild ${f.rebuildEvents} events: ${f.rebuildSeconds.toFixed(2)} s = ${Math.round(f.rebuildEvents / f.rebuildSeconds)} events/s`);
  rmSync(dir, { recursive: true, force: true });
}
