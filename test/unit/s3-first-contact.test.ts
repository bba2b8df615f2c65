// The first-contact gate of an S3 vault: one probe for all waiting requests, any HTTP answer counts, a probe
// with no answer fails them at once and stands until its retry time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { vaultError } from '../../src/core/errors.js';
import { FirstContact } from '../../src/vaults/s3-first-contact.js';

const describe = (err: unknown, timedOut: boolean) => vaultError(timedOut ? 'no answer' : `failed: ${String(err)}`);

test('requests waiting together share one probe; once answered (even 403), no more probes', async () => {
  let probes = 0;
  const gate = new FirstContact({
    probe: async () => {
      probes++;
      await new Promise((r) => setTimeout(r, 20));
      throw Object.assign(new Error('Forbidden'), { $metadata: { httpStatusCode: 403 } });
    },
    describe,
  });
  await Promise.all([gate.ready(), gate.ready(), gate.ready()]);
  await gate.ready();
  assert.is(probes, 1);
});

test('no answer in time fails every waiting request; the failure stands until the retry time, then one new probe', async () => {
  let now = 0;
  let probes = 0;
  let answer = false;
  const gate = new FirstContact({
    probe: (signal) => {
      probes++;
      if (answer) return Promise.resolve();
      return new Promise((_, reject) => signal.addEventListener('abort', () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }))));
    },
    describe,
    timeoutMs: 30,
    retryMs: 1000,
    now: () => now,
  });
  const waiting = await Promise.allSettled([gate.ready(), gate.ready()]);
  assert.equal(waiting.map((w) => (w.status === 'rejected' ? (w.reason as Error).message : 'ok')), ['no answer', 'no answer']);
  now = 999;
  await gate.ready().then(() => assert.unreachable('still failed'), (err: Error) => assert.is(err.message, 'no answer'));
  assert.is(probes, 1);
  now = 1000;
  answer = true;
  await gate.ready();
  assert.is(probes, 2);
});

test('a probe stuck before any request (credentials being resolved), deaf to the abort: waiters fail at the timeout all the same', async () => {
  const gate = new FirstContact({ probe: () => new Promise(() => {}), describe, timeoutMs: 50 });
  const started = Date.now();
  await gate.ready().then(() => assert.unreachable(), (err: Error) => assert.is(err.message, 'no answer'));
  assert.ok(Date.now() - started < 1000);
});

test('a failure without an HTTP answer (connection refused) is described as such, not as a timeout', async () => {
  const gate = new FirstContact({ probe: () => Promise.reject(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })), describe });
  await gate.ready().then(() => assert.unreachable(), (err: Error) => assert.is(err.message, 'failed: Error: connect ECONNREFUSED'));
});

test.run();
