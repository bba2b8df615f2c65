// A rebuild that reads the journal on a worker thread must replay exactly what an in-thread one replays:
// the same events (old versions upcast), the same projection rows, the same errors for a damaged row.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BtError, errnoCode } from '../../src/core/errors.js';
import { canonicalJson } from '../../src/events/canonical.js';
import type { DomainEvent } from '../../src/events/codecs.js';
import { eventHash } from '../../src/events/envelope.js';
import { type ReplayReader, replayOffThread, replaysOffThread } from '../../src/events/off-thread-replay.js';
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

/** Three pages and a part of stages, commits and drops, with a v1 event among them. */
function journalOfPages(): { store: Store; file: string } {
  const { store, file } = tempStore();
  const dir = tracked('/a');
  store.append([dir]);
  appendRaw(file, store, 'ContentStored', 1, { content_id: sha('old'), size: 3, vault: 'local' });
  const again = reopen(file);
  for (let batch = 0; batch < 8; batch++) {
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
    if (batch < 7) again.append(settled);
  }
  store.close();
  return { store: again, file };
}

test('the worker replays the events an in-thread replay gives, old versions upcast, across pages', () => {
  const { store, file } = journalOfPages();
  const head = store.journal.head().seq;
  assert.ok(head > 15_000, `${head} events: more than three pages`);
  const expected = [...store.journal.replay()];
  const got = [...replayOffThread(script, file, 1, head)];
  assert.is(got.length, expected.length);
  assert.equal(got, expected);
  assert.equal(got[1]!.event, { type: 'ContentStored', data: { content_id: sha('old'), size: 3, vault: 'local', sent: null, chunks: null } });
  assert.equal([...replayOffThread(script, file, 4000, 12_345)], [...store.journal.replay({ from: 4000, to: 12_345 })]);
  store.close();
});

test('a rebuild read off-thread leaves the rows an in-thread one leaves, to the end and to an earlier event', () => {
  const { store, file } = journalOfPages();
  // The v1 row went in by SQL, not through the live projections: compare with an in-thread rebuild.
  rebuildProjections(store.db, store.journal, undefined, inThread);
  const whole = dumpProjections(store.db);
  assert.ok(replaysOffThread(offThread, file, store.db.inTransaction, 1));
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
    for (const _ of replayOffThread(script, notADatabase, 1, 10)) break;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof Error && !(caught instanceof BtError), String(caught));
  assert.is(errnoCode(caught), 'SQLITE_NOTADB');
});

test('a replay left early stops its worker; the next one starts afresh', () => {
  const { store, file } = journalOfPages();
  const it = replayOffThread(script, file, 1, store.journal.head().seq);
  assert.is(it.next().value?.seq, 1);
  it.return(undefined);
  assert.is([...replayOffThread(script, file, 1, 3)].length, 3);
  store.close();
});

test('only committed rows of a database file are read off-thread', () => {
  const { store, file } = tempStore();
  const big = 1_000_000;
  assert.ok(replaysOffThread(offThread, file, false, big));
  assert.not.ok(replaysOffThread(offThread, file, true, big), 'inside a transaction the worker would not see its rows');
  assert.not.ok(replaysOffThread(offThread, ':memory:', false, big));
  assert.not.ok(replaysOffThread(offThread, '', false, big));
  assert.not.ok(replaysOffThread({ script, minEvents: 20_000 }, file, false, 19_999));
  assert.not.ok(replaysOffThread({ script: new URL('../../src/events/replay-worker.ts', import.meta.url), minEvents: 0 }, file, false, big));
  store.close();
});

test.run();
