// One of several processes taking and releasing the host lock of argv[2] argv[3] times; inside, it appends
// "enter pid" and "leave pid" lines to argv[4], so overlapping holders show as interleaved lines.
import { appendFileSync } from 'node:fs';
import { acquireHostLock } from '../../src/service/host-lock.js';

const pause = new Int32Array(new SharedArrayBuffer(4));
const [dataDir, rounds, log] = [process.argv[2]!, Number(process.argv[3]), process.argv[4]!];
for (let i = 0; i < rounds; i++) {
  const lock = await acquireHostLock(dataDir, 'hammer', 60_000);
  appendFileSync(log, `enter ${process.pid}\n`);
  // Inside for a moment, so that another holder would have time to come in.
  Atomics.wait(pause, 0, 0, 1);
  appendFileSync(log, `leave ${process.pid}\n`);
  lock.release();
}
