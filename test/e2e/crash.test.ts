// Crash safety: `bt add` and `bt backup` killed with SIGKILL at many points, then run again, end exactly
// where an uninterrupted run ends. BT_CRASH_FULL=1 (npm run test:crash) tries many more points.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { BtHome } from '../support/cli.js';
import { dumpProjections } from '../support/projection-dump.js';
import { ulidSource } from '../../src/core/ids.js';
import { Store } from '../../src/store/store.js';
import { newId, staged, tracked } from '../support/events.js';
import { backedUpDir } from '../support/scenarios.js';
import { type Interruption, assertEndState, assertVaultObjects, contentsOf, runInterrupted, writeCorpus } from '../support/crash.js';

const FULL = process.env.BT_CRASH_FULL === '1';

const addPoints: Interruption[] = FULL
  ? [...[1, 2, 3, 10, 30, 59, 61].map((n) => ({ fault: `stage:${n}` })), { fault: 'append:1' }, ...[1, 2, 40].map((n) => ({ fault: `append-mid:${n}` })), ...[30, 80, 150, 300, 600].map((afterMs) => ({ afterMs }))]
  : [{ fault: 'stage:30' }, { fault: 'append-mid:40' }, { afterMs: 250 }];
// Backup appends one event per file of the 62 (a commit carries what was stored), so its points stay below 62.
const backupPoints: Interruption[] = FULL
  ? [...[1, 2, 20, 45].map((n) => ({ fault: `put:${n}` })), { fault: 'commit:1' }, { fault: 'segment:1' }, ...[1, 30, 60].map((n) => ({ fault: `append-mid:${n}` })), ...[50, 150, 300, 600, 900].map((afterMs) => ({ afterMs }))]
  : [{ fault: 'put:20' }, { fault: 'commit:1' }, { fault: 'segment:1' }, { afterMs: 300 }];

const describe = (i: Interruption): string => ('fault' in i ? i.fault : `${i.afterMs} ms`);
let kills = 0;

/** A fresh bt home tracking the round-1 corpus, nothing added yet. */
function trackedCorpus(): { bt: BtHome; dir: string } {
  const bt = new BtHome('bt-crash').init();
  const dir = join(bt.work, 'tree');
  mkdirSync(dir);
  writeCorpus(dir, 1);
  bt.ok(['dir', 'init'], { cwd: dir });
  return { bt, dir };
}

function scenario(addKill: Interruption, backupKill: Interruption): void {
  const label = `add killed at ${describe(addKill)}, backup at ${describe(backupKill)}`;
  const { bt, dir } = trackedCorpus();
  const seen = new Set<string>();
  for (const round of [1, 2]) {
    if (round === 2) writeCorpus(dir, 2);
    for (const c of contentsOf(dir)) seen.add(c);
    const a = runInterrupted(bt, ['add'], dir, addKill);
    assert.ok(a.signal === 'SIGKILL' || a.code === 0, `${label}: add ended ${JSON.stringify(a)}`);
    // Round 1 reaches every fault point (all files are new): the kill must really have happened.
    if (round === 1 && 'fault' in addKill) assert.is(a.signal, 'SIGKILL', `${label}: add was not killed`);
    bt.ok(['add'], { cwd: dir });
    const b = runInterrupted(bt, ['backup'], dir, backupKill);
    assert.ok(b.signal === 'SIGKILL' || b.code === 0, `${label}: backup ended ${JSON.stringify(b)}`);
    if (round === 1 && 'fault' in backupKill) assert.is(b.signal, 'SIGKILL', `${label}: backup was not killed`);
    kills += (a.signal === 'SIGKILL' ? 1 : 0) + (b.signal === 'SIGKILL' ? 1 : 0);
    bt.ok(['backup']);
    assertEndState(bt, dir, `${label}, round ${round}`);
    assertVaultObjects(bt, seen, `${label}, round ${round}`);
  }
}

test(`SIGKILL during add and backup at ${addPoints.length} x ${backupPoints.length} point pairs leaves nothing lost`, () => {
  // Each add point with one backup point (cycling), and each backup point at least once.
  const pairs = Math.max(addPoints.length, backupPoints.length);
  for (let i = 0; i < pairs; i++) scenario(addPoints[i % addPoints.length]!, backupPoints[i % backupPoints.length]!);
  console.log(`crash harness: ${pairs} scenarios x 2 rounds, ${kills} processes killed mid-work`);
  assert.ok(kills >= pairs, 'most runs must really be interrupted');
});

test('SIGKILL during recover, then recover again, gives the whole journal', () => {
  const { bt, dir } = trackedCorpus();
  bt.ok(['add'], { cwd: dir });
  bt.ok(['backup']);
  const events = bt.json<{ events: unknown[] }>(['journal']).events.length;
  const fresh = new BtHome('bt-crash-new').init();
  const cfg = join(fresh.home, '.config/bt.toml');
  writeFileSync(cfg, readFileSync(cfg, 'utf8').replace(/path = "[^"]*\/vault"/, `path = ${JSON.stringify(bt.vault)}`));
  for (const how of [{ fault: 'recover:1' }, { afterMs: 150 }] as Interruption[]) {
    const r = runInterrupted(fresh, ['recover'], fresh.work, how);
    assert.ok(r.signal === 'SIGKILL' || r.code === 0, JSON.stringify(r));
  }
  const done = fresh.json<{ events: number }>(['recover']);
  assert.is(done.events, events);
  assert.is(fresh.run(['journal', 'verify']).code, 0);
  assert.is(fresh.json<{ events: unknown[] }>(['journal']).events.length, events);
});

test('SIGKILL during rebuild leaves the projections as they were; the next rebuild gives the same rows', () => {
  const { bt, dir } = trackedCorpus();
  bt.ok(['add'], { cwd: dir });
  bt.ok(['backup']);
  writeCorpus(dir, 2);
  bt.ok(['add'], { cwd: dir }); // round 2 stays staged: the staging queue is part of what is rebuilt
  const file = join(bt.home, 'data/bt/data/bt.db');
  const dump = (): Record<string, unknown[]> => projectionsIn(file);
  const before = dump();
  assert.ok(before.staging!.length > 0 && before.file_snapshots!.length > 0);
  for (const how of [{ fault: 'rebuild:1' }, { fault: 'rebuild:100' }, { afterMs: 200 }] as Interruption[]) {
    const r = runInterrupted(bt, ['rebuild'], dir, how);
    if ('fault' in how) assert.is(r.signal, 'SIGKILL', `rebuild killed at ${describe(how)}`);
    else assert.ok(r.signal === 'SIGKILL' || r.code === 0, JSON.stringify(r));
    assert.equal(dump(), before, `after a rebuild killed at ${describe(how)}`);
  }
  const events = bt.json<{ events: unknown[] }>(['journal']).events.length;
  assert.is(bt.json<{ events: number }>(['rebuild']).events, events);
  assert.equal(dump(), before);
  bt.ok(['backup']);
  assertEndState(bt, dir, 'after the interrupted rebuilds');
});

test('SIGKILL while a long journal is read off-thread leaves the projections as they were', () => {
  const bt = new BtHome('bt-crash').init();
  backedUpDir(bt, { 'f.txt': 'kept' });
  const file = join(bt.home, 'data/bt/data/bt.db');
  appendStagesAndCommits(file, 12_000);
  const dump = (): Record<string, unknown[]> => projectionsIn(file);
  const before = dump();
  // The fault point is on the reader thread: a rebuild that read in-thread would not be killed.
  const r = runInterrupted(bt, ['rebuild'], bt.work, { fault: 'replay-read:2' });
  assert.is(r.signal, 'SIGKILL', JSON.stringify(r));
  assert.equal(dump(), before);
  const events = bt.json<{ localEvents: number }>(['journal', 'verify', '--json']).localEvents;
  assert.ok(events > 24_000);
  assert.is(bt.json<{ events: number }>(['rebuild']).events, events);
  assert.equal(dump(), before);
});

/** The projection rows of the database `file`, read by a connection of its own. */
function projectionsIn(file: string): Record<string, unknown[]> {
  const db = new Database(file, { readonly: true });
  try {
    return dumpProjections(db);
  } finally {
    db.close();
  }
}

/** Appends `count` stages, each committed, of a directory of its own, as this host (the journal's owner). */
function appendStagesAndCommits(file: string, count: number): void {
  const host = new Database(file, { readonly: true });
  const owner = host.prepare('SELECT host_id FROM journal WHERE seq = 1').pluck().get() as string;
  host.close();
  const store = Store.open(file, owner, { now: () => Date.now() }, ulidSource());
  const dir = tracked('/elsewhere');
  store.append([dir]);
  for (let from = 0; from < count; from += 2000) {
    const stages = Array.from({ length: 2000 }, (_, i) => staged(dir.data.directory_id, `f${from + i}`));
    store.append(stages);
    store.append(
      stages.map((s) => ({
        type: 'SnapshotCommitted' as const,
        data: { snapshot_id: newId(), stage_id: s.data.stage_id, file_id: s.data.file_id, content_id: s.data.content_id, meta: s.data.meta, staged_at: '2026-01-01T00:00:00.000Z', stored: [] },
      })),
    );
  }
  store.close();
}

test.run();
