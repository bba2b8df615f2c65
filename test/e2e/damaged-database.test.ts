// A database whose pages are damaged: `bt rebuild` replaces one whose projections are damaged by a fresh
// file (journal, sync state and settings copied, projections replayed), and refuses, changing nothing,
// when the journal is damaged too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, openSync, readFileSync, closeSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { journalSchema } from '../../src/events/journal.js';
import { BtHome } from '../support/cli.js';
import { dumpProjections } from '../support/projection-dump.js';

/** A home with two backed-up versions of f.txt, g.txt, and h.txt staged only. */
function homeWithHistory(): { bt: BtHome; docs: string; db: string } {
  const bt = new BtHome().init();
  const docs = join(bt.work, 'docs');
  mkdirSync(docs);
  bt.ok(['dir', 'init'], { cwd: docs });
  writeFileSync(join(docs, 'f.txt'), 'version 1');
  writeFileSync(join(docs, 'g.txt'), 'another file');
  bt.ok(['add'], { cwd: docs });
  bt.ok(['backup']);
  writeFileSync(join(docs, 'f.txt'), 'version 2');
  bt.ok(['add'], { cwd: docs });
  bt.ok(['backup']);
  writeFileSync(join(docs, 'h.txt'), 'staged, not yet backed up');
  bt.ok(['add'], { cwd: docs });
  return { bt, docs, db: join(bt.home, 'data/bt/data/bt.db') };
}

/** The projections as rows, with everything in the main file (no write-ahead log left). */
function settledDump(db: string): Record<string, unknown[]> {
  const conn = new Database(db);
  try {
    conn.pragma('wal_checkpoint(TRUNCATE)');
    return dumpProjections(conn);
  } finally {
    conn.close();
  }
}

/** Overwrites the root page of `table` with bytes that do not parse as a b-tree page. */
function damageTable(db: string, table: string): void {
  const conn = new Database(db, { readonly: true });
  const root = conn.prepare('SELECT rootpage FROM sqlite_schema WHERE name = ?').pluck().get(table) as number;
  const pageSize = conn.pragma('page_size', { simple: true }) as number;
  conn.close();
  assert.ok(root > 1, `${table} has a root page of its own`);
  const fd = openSync(db, 'r+');
  writeSync(fd, Buffer.alloc(pageSize, 0xa5), 0, pageSize, (root - 1) * pageSize);
  closeSync(fd);
}

test('damaged projection pages: bt rebuild makes a fresh file with the same rows, keeps the damaged one, and bt goes on', () => {
  const { bt, docs, db } = homeWithHistory();
  const before = settledDump(db);
  const report = bt.json<{ localEvents: number; vaults: { notYetSynced: number }[] }>(['journal', 'verify', '--json']);
  const events = report.localEvents;
  assert.ok(events > 5);
  // h.txt's FileStaged and its directory's new mtime: `bt add` does not sync.
  assert.equal(report.vaults.map((v) => v.notYetSynced), [2]);
  damageTable(db, 'files');

  const broken = bt.run(['log', 'f.txt'], { cwd: docs });
  assert.is(broken.code, 4);
  assert.match(broken.stderr, /is damaged \(SQLITE_CORRUPT\); run `bt rebuild`/);

  // Another connection open (a `bt watch` between jobs would be one): it would go on writing to the old
  // file. Nothing is replaced.
  const holder = new Database(db);
  holder.prepare('SELECT 1 FROM journal LIMIT 1').get();
  const busy = bt.run(['rebuild']);
  assert.is(busy.code, 1);
  assert.match(busy.stderr, /bt: error: the database is open in another bt process \(a `bt watch`\?\); nothing was replaced; stop it, then run `bt rebuild` again\n$/);
  holder.close();
  assert.not.ok(existsSync(`${db}.rebuild`) || existsSync(`${db}.damaged`));

  const r = bt.run(['rebuild', '--json']);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stderr, /the projections are damaged: rebuilding the database into a fresh file/);
  const out = JSON.parse(r.stdout) as { events: number; damaged_copy: string | null };
  assert.is(out.events, events);
  assert.is(out.damaged_copy, `${db}.damaged`);
  assert.ok(existsSync(`${db}.damaged`));
  assert.not.ok(existsSync(`${db}.rebuild`), 'no fresh file left behind');
  assert.equal(settledDump(db), before, 'the rebuilt projections, row for row');

  // The journal, its sync state and the staged version carried over: only the last add's two events to sync, not all.
  const verified = bt.json<{ localEvents: number; localOk: boolean }>(['journal', 'verify', '--json']);
  assert.equal([verified.localOk, verified.localEvents], [true, events]);
  const log = bt.json<{ versions: unknown[] }>(['log', 'f.txt', '--json'], { cwd: docs });
  assert.is(log.versions.length, 2);
  const sync = bt.json<{ vaults: { events: number }[] }>(['sync', '--json']);
  assert.equal(sync.vaults.map((v) => v.events), [2]);
  bt.ok(['backup']);
  const restored = join(bt.work, 'h-restored.txt');
  bt.ok(['restore', 'h.txt', '--output', restored], { cwd: docs });
  assert.is(readFileSync(restored, 'utf8'), 'staged, not yet backed up');

  // Damaged again: the earlier damaged copy is kept, the new one gets another name.
  settledDump(db);
  damageTable(db, 'files');
  const again = bt.json<{ damaged_copy: string }>(['rebuild', '--json']);
  assert.is(again.damaged_copy, `${db}.damaged-2`);
  assert.ok(existsSync(`${db}.damaged`));
});

test('a damaged journal page: bt rebuild refuses, offers recover, and changes nothing', () => {
  const { bt, db } = homeWithHistory();
  settledDump(db);
  damageTable(db, 'journal');
  const bytes = readFileSync(db);
  const r = bt.run(['rebuild']);
  assert.is(r.code, 4);
  assert.match(r.stderr, /damaged.*`bt recover`/);
  assert.ok(readFileSync(db).equals(bytes), 'the database file is as it was');
  assert.not.ok(existsSync(`${db}.rebuild`));
  assert.not.ok(existsSync(`${db}.damaged`));
});

test('damaged projections and a journal row changed in place: bt rebuild refuses and changes nothing', () => {
  // A changed byte inside a row: every page still parses; the hash chain tells (a payload by its hash, a
  // link by the chain trigger as the row is copied).
  const cases = [
    ["payload = payload || ' '", /the journal is damaged too \(event 3: its content does not match its hash\); nothing was replaced; move the data directory aside and run `bt recover`/],
    // Its first hex digit changed (always: a link that already began with 0 made this case pass by luck, 1 in 16).
    ["prev_hash = (CASE substr(prev_hash, 1, 1) WHEN '0' THEN '1' ELSE '0' END) || substr(prev_hash, 2)", /the database's journal table is damaged too \(its rows do not form one hash chain\), not only its projections; nothing was replaced; move the data directory aside and run `bt recover`/],
  ] as const;
  for (const [change, message] of cases) {
    const { bt, db } = homeWithHistory();
    settledDump(db);
    const conn = new Database(db);
    conn.exec('DROP TRIGGER journal_no_update');
    conn.prepare(`UPDATE journal SET ${change} WHERE seq = 3`).run();
    conn.exec(journalSchema);
    conn.pragma('wal_checkpoint(TRUNCATE)');
    conn.close();
    damageTable(db, 'files');
    const bytes = readFileSync(db);
    const r = bt.run(['rebuild']);
    assert.is(r.code, 4, change);
    assert.match(r.stderr, message);
    assert.ok(readFileSync(db).equals(bytes));
    assert.not.ok(existsSync(`${db}.rebuild`));
  }
});

test.run();
