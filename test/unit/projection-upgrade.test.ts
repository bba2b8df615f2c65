import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import { PROJECTION_SCHEMA_VERSION } from '../../src/projections/index.js';
import { dumpProjections } from '../support/projection-dump.js';
import { meta, newId, sha, staged, tracked } from '../support/events.js';
import { HOST, steppingClock, tempStore } from '../support/store.js';
import { ulidSource } from '../../src/core/ids.js';
import { Store } from '../../src/store/store.js';
import { BtError } from '../../src/core/errors.js';

test('a database whose projections an older bt made (other columns) is rebuilt on open, then answers queries', () => {
  const { store, file } = tempStore();
  const dir = tracked('/home/me/docs');
  const s = staged(dir.data.directory_id, 'a.txt', { meta: meta({ size: 7, ino: '77' }) });
  store.append([dir, s]);
  store.append([
    { type: 'ContentStored', data: { content_id: sha('elsewhere'), vault: 'usb', size: 9, sent: 9, chunks: null } },
    {
      type: 'SnapshotCommitted',
      data: {
        snapshot_id: newId(), stage_id: s.data.stage_id, file_id: s.data.file_id, content_id: s.data.content_id, meta: s.data.meta,
        staged_at: '2026-01-01T00:00:01.000Z', stored: [{ vault: 'local', sent: 7, chunks: null }],
      },
    },
  ]);
  const expected = dumpProjections(store.db);
  store.close();

  // What version 3 had: a files table without the copied stat fields.
  const raw = new Database(file);
  raw.exec(`DROP TABLE files;
    CREATE TABLE files (id TEXT PRIMARY KEY, directory_id TEXT NOT NULL, name TEXT NOT NULL, current_snapshot_id TEXT,
      deleted INTEGER NOT NULL DEFAULT 0, deleted_at TEXT, created_at TEXT NOT NULL) WITHOUT ROWID;
    PRAGMA user_version = 3;`);
  raw.close();

  let told = 0;
  const again = Store.open(file, HOST, steppingClock(Date.UTC(2027, 0, 1)), ulidSource(), () => told++);
  assert.is(told, 1, 'the caller is told before the rebuild');
  assert.is(again.db.pragma('user_version', { simple: true }), PROJECTION_SCHEMA_VERSION);
  assert.equal(dumpProjections(again.db), expected);
  const dirRow = again.queries.findDirectoryByPath('/home/me/docs')!;
  const [known] = again.queries.trackedPage(dirRow, 'a.txt', '', 1);
  assert.is(known?.name, 'a.txt');
  assert.is(known?.current, `file 7 ${0o644} 1735689600000000000 1735689600000000000 77`);
  assert.equal(again.queries.contentLocations(sha('a.txt')), ['local']);
  assert.equal(again.queries.contentLocations(sha('elsewhere')), ['usb']);
  again.close();
});

test('a current database opens without a rebuild', () => {
  const { store, file } = tempStore();
  store.append([tracked('/x')]);
  store.close();
  let told = 0;
  const again = Store.open(file, HOST, steppingClock(), ulidSource(), () => told++);
  assert.is(told, 0);
  again.close();
});

test('a database a newer bt made is refused, not rebuilt: its journal may hold events this bt cannot read', () => {
  const { store, file } = tempStore();
  store.append([tracked('/home/me/docs')]);
  store.close();
  const raw = new Database(file);
  raw.pragma(`user_version = ${PROJECTION_SCHEMA_VERSION + 1}`);
  raw.close();
  let told = 0;
  try {
    Store.open(file, HOST, steppingClock(Date.UTC(2027, 0, 1)), ulidSource(), () => told++);
    assert.unreachable('open must fail');
  } catch (err) {
    assert.instance(err, BtError);
    assert.is(
      (err as Error).message,
      `the database ${file} was made by a newer bt (projections v${PROJECTION_SCHEMA_VERSION + 1}; this bt knows v${PROJECTION_SCHEMA_VERSION})`,
    );
  }
  assert.is(told, 0, 'no rebuild was started');
  const after = new Database(file);
  assert.is(after.pragma('user_version', { simple: true }), PROJECTION_SCHEMA_VERSION + 1);
  after.close();
});

test.run();
