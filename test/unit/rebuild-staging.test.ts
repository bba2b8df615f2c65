// A rebuild's staging step holds stages back until their commit or drop (deferredStagingStep): whatever
// it holds and however often it overflows, the queue must end as the live step leaves it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import Database from 'better-sqlite3';
import type { DomainEvent } from '../../src/events/codecs.js';
import type { ReplayedEvent } from '../../src/events/envelope.js';
import { deferredStagingStep, stagingProjection } from '../../src/projections/staging.js';
import { meta, newId, sha, staged } from '../support/events.js';
import { Random } from '../support/random.js';

/** Stages, commits and drops in random order; some stages stay pending, some files are staged again. */
function randomEvents(seed: number, count: number): ReplayedEvent[] {
  const rnd = new Random(seed);
  const directory = newId();
  const pending: { stage_id: string; file_id: string }[] = [];
  const events: DomainEvent[] = [];
  for (let i = 0; i < count; i++) {
    const roll = rnd.int(10);
    if (pending.length === 0 || roll < 6) {
      const e = staged(directory, `f${i}`, { meta: meta({ size: i, ino: String(1000 + i) }) });
      pending.push({ stage_id: e.data.stage_id, file_id: e.data.file_id });
      events.push(e);
      continue;
    }
    const [s] = pending.splice(rnd.int(pending.length), 1);
    if (!s) continue;
    events.push(
      roll < 9
        ? {
            type: 'SnapshotCommitted',
            data: {
              snapshot_id: newId(), stage_id: s.stage_id, file_id: s.file_id, content_id: sha(`c${i}`), meta: meta(),
              staged_at: '2026-01-01T00:00:00.000Z', stored: [],
            },
          }
        : { type: 'StageDropped', data: { stage_id: s.stage_id, file_id: s.file_id, reason: 'superseded' } },
    );
  }
  return events.map((event, i) => ({ seq: i + 1, time: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}.000Z`, event }));
}

function stagingRows(apply: (db: Database.Database) => void): unknown[] {
  const db = new Database(':memory:');
  db.exec(stagingProjection.ddl);
  apply(db);
  return db.prepare('SELECT * FROM staging ORDER BY stage_id').all();
}

test('the deferred staging step leaves the rows the live step leaves, with and without overflow', () => {
  for (let seed = 1; seed <= 20; seed++) {
    const events = randomEvents(seed, 400);
    const live = stagingRows((db) => {
      const step = stagingProjection.bind(db);
      for (const rec of events) step(rec);
    });
    assert.ok(live.length > 0, `seed ${seed}: some stages stay pending`);
    for (const max of [1, 7, 100_000]) {
      const rereads: number[] = [];
      const deferred = stagingRows((db) => {
        const step = deferredStagingStep(db, (seq) => {
          rereads.push(seq);
          return events[seq - 1]!;
        }, max);
        for (const rec of events) step.apply(rec);
        step.finish();
      });
      assert.equal(deferred, live, `seed ${seed}, max ${max}`);
      // Only stages written to the table are read again, each once.
      assert.equal(new Set(rereads).size, rereads.length, `seed ${seed}, max ${max}: a stage read twice`);
      if (max === 100_000) assert.equal(rereads.length, live.length, `seed ${seed}: only the pending stages are read again`);
      else assert.ok(rereads.length > live.length, `seed ${seed}, max ${max}: the overflow wrote stages early`);
    }
  }
});

test.run();
