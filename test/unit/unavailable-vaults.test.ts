// A vault found unavailable during a backup is skipped for a while, then one file tries it again.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnavailableVaults } from '../../src/service/unavailable-vaults.js';

test('skipped until the retry is due, then one caller tries; a success ends it, a failure starts the wait again', () => {
  let now = 1000;
  const u = new UnavailableVaults(() => now, 60_000);
  assert.is(u.reasonToSkip('s3'), undefined, 'nothing known: try');
  assert.ok(u.mark('s3', 'endpoint unreachable'), 'first time: say so');
  assert.not.ok(u.mark('s3', 'endpoint unreachable'), 'said once');
  assert.is(u.reasonToSkip('s3'), 'endpoint unreachable');
  assert.is(u.reasonToSkip('disk'), undefined, 'other vaults are tried');
  now += 59_999;
  assert.is(u.reasonToSkip('s3'), 'endpoint unreachable');
  now += 1;
  assert.is(u.reasonToSkip('s3'), undefined, 'the retry is due: this caller tries');
  assert.is(u.reasonToSkip('s3'), 'endpoint unreachable', 'the others keep skipping meanwhile');
  // The retry failed too: another full wait.
  assert.not.ok(u.mark('s3', 'endpoint unreachable'));
  now += 30_000;
  assert.is(u.reasonToSkip('s3'), 'endpoint unreachable');
  now += 30_000;
  assert.is(u.reasonToSkip('s3'), undefined);
  // This time it worked.
  assert.ok(u.up('s3'), 'it had been unavailable: say it is back');
  assert.not.ok(u.up('s3'));
  assert.is(u.reasonToSkip('s3'), undefined);
});

test.run();
