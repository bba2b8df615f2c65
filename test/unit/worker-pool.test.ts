// The worker pool that capture and restore share: results in order, and a worker that dies fails its batch
// and every later one instead of leaving them waiting forever.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { WorkerPool, workerCount } from '../../src/core/worker-pool.js';

const script = new URL('../support/dying-worker.mjs', import.meta.url);

test('batches come back in order, from every worker', async () => {
  const pool = new WorkerPool<string, string>(script, 2);
  const [a, b] = await Promise.all([pool.send(['a1', 'a2']), pool.send(['b1'])]);
  assert.equal(a, ['done a1', 'done a2']);
  assert.equal(b, ['done b1']);
  await pool.close();
});

test('a worker that dies rejects its batch and every later batch, without hanging', async () => {
  const pool = new WorkerPool<string, string>(script, 2);
  assert.equal(await pool.send(['first']), ['done first']);
  const died = await pool.send(['die']).then(
    () => 'resolved',
    (err: unknown) => String(err),
  );
  assert.match(died, /a worker thread stopped \(exit code 3\)/);
  const later = await pool.send(['after']).then(
    () => 'resolved',
    (err: unknown) => String(err),
  );
  assert.match(later, /exit code 3/);
  await pool.close();
});

test('worker counts: a whole number from the environment, else at most two', () => {
  process.env.BT_TEST_WORKERS = '0';
  assert.is(workerCount('BT_TEST_WORKERS'), 0);
  process.env.BT_TEST_WORKERS = 'lots';
  assert.ok([1, 2].includes(workerCount('BT_TEST_WORKERS')));
  delete process.env.BT_TEST_WORKERS;
});

test.run();
