import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { canonicalJson } from '../../src/events/canonical.js';
import { eventHash } from '../../src/events/envelope.js';
import { currentVersion, upcast } from '../../src/events/versions.js';
import { HOST, reopen, tempStore } from '../support/store.js';
import { meta, sha, tracked } from '../support/events.js';

/** Appends, as an older bt did, one row of `type` and `version` after a tracked directory; returns its file. */
function fileWithOldRow(id: string, version: number, time: string, payload: Record<string, unknown>, type = 'ContentStored'): string {
  const { store, file } = tempStore();
  store.append([tracked('/a')]);
  const head = store.journal.head();
  store.close();
  // Its payload is the old shape; its hash covers exactly that payload.
  const row = { seq: head.seq + 1, id, type, version, host_id: HOST, time, payload: canonicalJson(payload), prev_hash: head.hash };
  const raw = new Database(file);
  raw
    .prepare('INSERT INTO journal (seq, id, type, version, host_id, time, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)')
    .run(row.seq, row.id, row.type, row.version, row.host_id, row.time, row.payload, row.prev_hash, eventHash(row));
  raw.close();
  return file;
}

test('a v1 ContentStored written before `sent` existed is read through the current codec', () => {
  const content = sha('old');
  const file = fileWithOldRow('01J0000000000000000000000A', 1, '2025-06-01T00:00:00.000Z', { content_id: content, size: 3, vault: 'local' });

  const again = reopen(file);
  assert.ok(again.journal.verifyChain().ok, 'the old row verifies: its stored bytes are hashed as stored');
  const [, old] = [...again.journal.read()];
  assert.is(old!.version, 1);
  assert.equal(old!.event, { type: 'ContentStored', data: { content_id: content, size: 3, vault: 'local', sent: null, chunks: null } });
  again.rebuild();
  assert.equal(again.queries.contentLocations(content), ['local']);
});

test('a v2 ContentStored, written before chunking, reads as stored whole (chunks: null)', () => {
  const content = sha('whole');
  const file = fileWithOldRow('01J0000000000000000000000B', 2, '2026-11-01T00:00:00.000Z', { content_id: content, sent: 5, size: 5, vault: 'local' });

  const again = reopen(file);
  assert.ok(again.journal.verifyChain().ok);
  const [, old] = [...again.journal.read()];
  assert.is(old!.version, 2);
  assert.equal(old!.event, { type: 'ContentStored', data: { content_id: content, sent: 5, size: 5, vault: 'local', chunks: null } });
  assert.is(currentVersion.ContentStored, 3);
  again.rebuild();
  assert.equal(again.queries.contentLocations(content), ['local']);
});

test('a v1 SnapshotCommitted, written before commits carried what was stored, reads with stored: []', () => {
  const m = meta();
  const data = { snapshot_id: '01J0000000000000000000000D', stage_id: '01J0000000000000000000000E', file_id: '01J0000000000000000000000F', content_id: sha('v1'), meta: m, staged_at: '2025-06-01T00:00:00.000Z' };
  const file = fileWithOldRow('01J0000000000000000000000C', 1, '2025-06-01T00:00:01.000Z', data, 'SnapshotCommitted');

  const again = reopen(file);
  assert.ok(again.journal.verifyChain().ok);
  const [, old] = [...again.journal.read()];
  assert.is(old!.version, 1);
  assert.equal(old!.event, { type: 'SnapshotCommitted', data: { ...data, stored: [] } });
  assert.is(currentVersion.SnapshotCommitted, 2);
  again.rebuild();
  // A v1 commit records no storage itself (its ContentStored events did).
  assert.equal(again.queries.contentLocations(sha('v1')), []);
});

test('an event newer than this bt is refused with a clear reason', () => {
  const r = upcast('FileDeleted', currentVersion.FileDeleted + 1, {});
  assert.equal(r, { ok: false, reason: `FileDeleted v${currentVersion.FileDeleted + 1} is newer than this bt understands (v${currentVersion.FileDeleted}); upgrade bt` });
});

test.run();
