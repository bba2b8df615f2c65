// A rebuild that reads the journal on a worker thread must replay exactly what an in-thread one replays:
// the same events (old versions upcast), the same projection rows, the same errors for a damaged row.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BtError, errnoCode } from '../../src/core/errors.js';
import { canonicalJson } from '../../src/events/canonical.js';
import type { DomainEvent } from '../../src/events/codecs.js';
import { eventHash } from '../../src/events/envelope.js';
import { PAGES_AHEAD, PAGE_ROWS, type ReplayReader, replayOffThread, replaysOffThread } from '../../src/events/off-thread-replay.js';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import type { Store } from '../../src/store/store.js';
import { meta, newId, sha, staged, tracked } from '../support/events.js';
import { dumpProjections } from '../support/projection-dump.js';
import { HOST, reopen, tempStore } from '../support/store.js';
import { tempDir } from '../support/tmp.js';

// Worker threads here do not load TypeScript: the reader runs from the build (`npm test` builds first).
const script = new URL('../../dist/replay-worker.js', import.meta.url);
const offThread: ReplayReader = { script, minEvents: 0 };
const inThread: ReplayReader = { script, minEvents: Number.POSITIVE_INFINITY };
const noFallback = (): never => {
  throw new Error('the reader thread did not start');
};

/** Appends one row as an older bt wrote it (its payload in the old shape, hashed as stored). */
function appendRaw(file: string, store: Store, type: string, version: number, payload: unknown): void {
  const head = store.journal.head();
  const row = { seq: head.seq + 1, id: newId(), type, version, host_id: HOST, time: '2025-06-01T00:00:00.000Z', payload: canonicalJson(payload), prev_hash: head.hash };
  const raw = new Database(file);
  raw
    .prepare('INSERT INTO journal (seq, id, type, version, host_id, time, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run(row.seq, row.id, row.type, row.version, row.host_id, row.time, row.payload, row.prev_hash, eventHash(row));
  raw.close();
}

/** Three pages and a part (or more: `batches` of 2,000 events) of stages, commits and drops, with a v1 event among them. */
function journalOfPages(batches = 8): { store: Store; file: string } {
  const { store, file } = tempStore();
  const dir = tracked('/a');
  store.append([dir]);
  appendRaw(file, store, 'ContentStored', 1, { content_id: sha('old'), size: 3, vault: 'local' });
  const again = reopen(file);
  for (let batch = 0; batch < batches; batch++) {
    const stages = Array.from({ length: 1000 }, (_, i) => staged(dir.data.directory_id, `d${batch}/f${i}`, { meta: meta({ size: i }) }));
    const settled: DomainEvent[] = stages.map((s, i) =>
      i % 7 === 0
        ? { type: 'StageDropped', data: { stage_id: s.data.stage_id, file_id: s.data.file_id, reason: 'superseded' } }
        : {
            type: 'SnapshotCommitted',
            data: { snapshot_id: newId(), stage_id: s.data.stage_id, file_id: s.data.file_id, content_id: s.data.content_id, meta: s.data.meta, staged_at: '2026-01-01T00:00:00.000Z', stored: [] },
          },
    );
    again.append(stages);
    // The last batch stays staged: a rebuild's queue is not empty.
    if (batch < batches - 1) again.append(settled);
  }
  store.close();
  return { store: again, file };
}

test('the worker replays the events an in-thread replay gives, old versions upcast, across pages', () => {
  const { store, file } = journalOfPages();
  const head = store.journal.head().seq;
  assert.ok(head > 15_000, `${head} events: more than three pages`);
  const expected = [...store.journal.replay()];
  const got = [...replayOffThread(script, file, 1, head, noFallback)];
  assert.is(got.length, expected.length);
  assert.equal(got, expected);
  assert.equal(got[1]!.event, { type: 'ContentStored', data: { content_id: sha('old'), size: 3, vault: 'local', sent: null, chunks: null } });
  assert.equal([...replayOffThread(script, file, 4000, 12_345, noFallback)], [...store.journal.replay({ from: 4000, to: 12_345 })]);
  store.close();
});

test('a rebuild read off-thread leaves the rows an in-thread one leaves, to the end and to an earlier event', () => {
  const { store } = journalOfPages();
  // The v1 row went in by SQL, not through the live projections: compare with an in-thread rebuild.
  rebuildProjections(store.db, store.journal, undefined, inThread);
  const whole = dumpProjections(store.db);
  assert.ok(replaysOffThread(offThread, store.db, false, 1));
  assert.is(rebuildProjections(store.db, store.journal, undefined, offThread).events, store.journal.head().seq);
  assert.equal(dumpProjections(store.db), whole);
  assert.is(whole.contents?.length, 1, 'the v1 ContentStored');
  rebuildProjections(store.db, store.journal, 9_000, inThread);
  const early = dumpProjections(store.db);
  assert.is.not(early.staging?.length, whole.staging?.length);
  rebuildProjections(store.db, store.journal, 9_000, offThread);
  assert.equal(dumpProjections(store.db), early);
  store.close();
});

test('a row that does not decode stops both rebuilds with the same error, the projections untouched', () => {
  const { store, file } = journalOfPages();
  appendRaw(file, store, 'DirectoryTracked', 1, { directory_id: 'not-a-ulid', path: '/b' });
  const before = dumpProjections(store.db);
  const failure = (reader: ReplayReader): BtError => {
    try {
      rebuildProjections(store.db, store.journal, undefined, reader);
    } catch (err) {
      if (err instanceof BtError) return err;
      throw err;
    }
    throw new Error('the rebuild did not fail');
  };
  const inline = failure(inThread);
  const worker = failure(offThread);
  assert.is(worker.kind, 'integrity');
  assert.match(worker.message, /^journal row \d+ \(DirectoryTracked v1\): payload\.directory_id: expected ULID/);
  assert.equal([worker.kind, worker.message, worker.hint], [inline.kind, inline.message, inline.hint]);
  assert.equal(dumpProjections(store.db), before);
  store.close();
});

test('what stops the worker reaches the caller as the error it was (SQLite code kept)', () => {
  const notADatabase = join(tempDir('bt-otr'), 'bt.db');
  writeFileSync(notADatabase, 'x'.repeat(4096));
  let caught: unknown;
  try {
    for (const _ of replayOffThread(script, notADatabase, 1, 10, noFallback)) break;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error && !(caught instanceof BtError), String(caught));
  assert.is(errnoCode(caught), 'SQLITE_NOTADB');
});

test('a replay left early stops its worker (its read snapshot ends); the next one starts afresh', () => {
  // More pages than the worker may read ahead: it is still reading when the replay is left.
  const { store, file } = journalOfPages(16);
  assert.ok(store.journal.head().seq > (PAGES_AHEAD + 2) * PAGE_ROWS);
  const it = replayOffThread(script, file, 1, store.journal.head().seq, noFallback);
  assert.is(it.next().value?.seq, 1);
  it.return(undefined);
  // While the worker reads, its snapshot keeps a checkpoint from emptying a log written after it (busy = 1).
  const other = new Database(file);
  other.pragma('busy_timeout = 0');
  other.exec('CREATE TABLE probe (x)');
  const settled = (): boolean => (other.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[])[0]?.busy === 0;
  const until = Date.now() + 5000;
  while (!settled() && Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  assert.ok(settled(), 'the worker let go of its read snapshot');
  other.close();
  assert.is([...replayOffThread(script, file, 1, 3, noFallback)].length, 3);
  store.close();
});

test('a worker whose script fails to load leaves the replay to this thread', () => {
  const { store, file } = journalOfPages();
  const broken = join(tempDir('bt-otr'), 'broken-worker.js');
  writeFileSync(broken, "throw new Error('no such worker');\n");
  const got = [...replayOffThread(pathToFileURL(broken), file, 1, 5, () => store.journal.replay({ to: 5 }), 300)];
  assert.equal(got, [...store.journal.replay({ to: 5 })]);
  store.close();
});

test('only what the worker can see is read off-thread: committed rows of a WAL database file', () => {
  const { store } = tempStore();
  const big = 1_000_000;
  assert.ok(replaysOffThread(offThread, store.db, false, big));
  assert.not.ok(replaysOffThread(offThread, store.db, true, big), 'inside a transaction the worker would not see its rows');
  assert.not.ok(replaysOffThread({ script, minEvents: 20_000 }, store.db, false, 19_999));
  assert.not.ok(replaysOffThread({ script: new URL('../../src/events/replay-worker.ts', import.meta.url), minEvents: 0 }, store.db, false, big));
  for (const other of [new Database(':memory:'), new Database(''), new Database(join(tempDir('bt-otr'), 'rollback.db'))]) {
    assert.not.ok(replaysOffThread(offThread, other, false, big), `${other.name} (${String(other.pragma('journal_mode', { simple: true }))})`);
    other.close();
  }
  store.close();
});

test('a rebuild inside a transaction replays the rows it holds uncommitted', () => {
  const { store } = journalOfPages();
  store.db.exec('BEGIN');
  const dir = tracked('/uncommitted');
  store.append([dir, staged(dir.data.directory_id, 'x')]);
  const head = store.journal.head().seq;
  assert.is(rebuildProjections(store.db, store.journal, undefined, offThread).events, head);
  assert.ok(store.queries.findDirectoryByPath('/uncommitted'));
  store.db.exec('ROLLBACK');
  store.close();
});

test('a rebuild replays to the end of the journal: no append slips in between reading its end and replaying', () => {
  const { store, file } = journalOfPages();
  const other = new Database(file);
  other.pragma('busy_timeout = 0');
  const otherStore = reopen(file);
  otherStore.db.pragma('busy_timeout = 0');
  // Another bt appends right when the rebuild has read where the journal ends.
  const head = store.journal.head.bind(store.journal);
  let appended: string | undefined;
  store.journal.head = () => {
    const h = head();
    if (appended === undefined) {
      try {
        otherStore.append([tracked('/racing')]);
        appended = 'yes';
      } catch (err) {
        appended = errnoCode(err) ?? String(err);
      }
    }
    return h;
  };
  const events = rebuildProjections(store.db, store.journal, undefined, offThread).events;
  store.journal.head = head;
  assert.is(appended, 'SQLITE_BUSY', 'the rebuild holds the write lock when it reads the end');
  assert.is(events, head().seq);
  other.close();
  otherStore.close();
  store.close();
});

test.run();
