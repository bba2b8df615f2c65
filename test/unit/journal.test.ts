import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { GENESIS_HASH, eventHash } from '../../src/events/envelope.js';
import { BtError } from '../../src/core/errors.js';
import { reopen, tempStore } from '../support/store.js';
import { staged, tracked } from '../support/events.js';

test('append chains events: seq from 1, each prev_hash is the hash before, hashes recompute', () => {
  const { store } = tempStore();
  const dir = tracked('/home/u/docs');
  const recs = store.append([dir, staged(dir.data.directory_id, 'a.txt'), staged(dir.data.directory_id, 'b.txt')]);
  assert.equal(recs.map((r) => r.seq), [1, 2, 3]);
  assert.is(recs[0]!.prev_hash, GENESIS_HASH);
  assert.is(recs[1]!.prev_hash, recs[0]!.hash);
  assert.is(recs[2]!.prev_hash, recs[1]!.hash);
  const rows = [...store.journal.rows()];
  for (const row of rows) assert.is(eventHash(row), row.hash);
  assert.equal(store.journal.verifyChain(), { ok: true, events: 3, head: { seq: 3, hash: recs[2]!.hash } });
  const read = [...store.journal.read()];
  assert.equal(read.map((r) => r.event), recs.map((r) => r.event));
});

test('the database refuses UPDATE and DELETE on the journal', () => {
  const { store, file } = tempStore();
  store.append([tracked('/a')]);
  store.close();
  const raw = new Database(file);
  assert.throws(() => raw.prepare("UPDATE journal SET payload = '{}' WHERE seq = 1").run(), /append-only: UPDATE refused/);
  assert.throws(() => raw.prepare('DELETE FROM journal WHERE seq = 1').run(), /append-only: DELETE refused/);
  assert.throws(
    () => raw.prepare("INSERT INTO journal SELECT seq + 5, id || 'x', type, version, host_id, time, payload, prev_hash, hash FROM journal").run(),
    /must extend the hash chain/,
  );
  assert.is((raw.prepare('SELECT COUNT(*) AS n FROM journal').get() as { n: number }).n, 1);
  raw.close();
});

test('appending is all or nothing: a failing event rolls back the whole batch and its projections', () => {
  const { store } = tempStore();
  const dir = tracked('/a');
  store.append([dir]);
  const first = staged(dir.data.directory_id, 'x');
  // A second stage of the same file without dropping the first breaks the staging queue's UNIQUE(file_id).
  const again = staged(dir.data.directory_id, 'x', { file_id: first.data.file_id });
  assert.throws(() => store.append([first, again]), /UNIQUE/);
  assert.is(store.journal.head().seq, 1);
  assert.is(store.queries.stagedCount(), 0);
});

test('malformed events are refused before they reach the journal', () => {
  const { store } = tempStore();
  const bad = tracked('/a');
  (bad.data as { directory_id: string }).directory_id = 'not-a-ulid';
  assert.throws(() => store.append([bad]), /malformed DirectoryTracked: directory_id: expected ULID, got "not-a-ulid"/);
  assert.is(store.journal.head().seq, 0);
});

function tamper(file: string, sql: string): void {
  const raw = new Database(file);
  raw.exec('DROP TRIGGER journal_no_update');
  raw.exec(sql);
  raw.close();
}

test('a payload that does not decode fails the read, naming the row and the field', () => {
  const { store, file } = tempStore();
  const dir = tracked('/a');
  store.append([dir, staged(dir.data.directory_id, 'f')]);
  store.close();
  tamper(file, `UPDATE journal SET payload = json_set(payload, '$.meta.size', 'big') WHERE seq = 2`);
  const err = readFailure(file);
  assert.match(err.message, /^journal row 2 \(FileStaged v1\): payload\.meta\.size: expected non-negative integer, got "big"/);
});

/** The error reading the whole journal of `file` fails with. */
function readFailure(file: string): BtError {
  const again = reopen(file);
  try {
    [...again.journal.read()];
  } catch (err) {
    assert.instance(err, BtError);
    return err as BtError;
  }
  throw new Error('the read must fail');
}

test('a row of a type this bt does not know fails the read, naming a newer bt as the likelier cause', () => {
  const { store, file } = tempStore();
  const dir = tracked('/a');
  store.append([dir, staged(dir.data.directory_id, 'f')]);
  store.close();
  tamper(file, `UPDATE journal SET type = 'FolderRenamed' WHERE seq = 2`);
  const err = readFailure(file);
  assert.is(err.message, 'journal row 2 (FolderRenamed v1): unknown event type');
  assert.match(err.hint ?? '', /^a newer bt may have written it \(upgrade bt\)/);
});

test('the chain check reports the first broken link', () => {
  const { store, file } = tempStore();
  const dir = tracked('/a');
  store.append([dir, staged(dir.data.directory_id, 'f'), staged(dir.data.directory_id, 'g'), staged(dir.data.directory_id, 'h')]);
  store.close();
  tamper(file, `UPDATE journal SET payload = replace(payload, '"g"', '"G"') WHERE seq = 3`);
  const again = reopen(file);
  assert.equal(again.journal.verifyChain(), { ok: false, seq: 3, problem: 'its content does not match its hash' });
});

test('a missing event is a broken chain, not skipped', () => {
  const { store, file } = tempStore();
  const dir = tracked('/a');
  store.append([dir, staged(dir.data.directory_id, 'f'), staged(dir.data.directory_id, 'g')]);
  store.close();
  const raw = new Database(file);
  raw.exec('DROP TRIGGER journal_no_delete');
  raw.exec('DELETE FROM journal WHERE seq = 2');
  raw.close();
  assert.equal(reopen(file).journal.verifyChain(), { ok: false, seq: 2, problem: 'event 2 is missing (next found is 3)' });
});

test.run();
