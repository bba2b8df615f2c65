// The hash helper of a capture worker (whole-hash.ts): hashes the chunks it is told to, in order, from the
// shared rolling buffer, each on its own and into the whole file's hash, and hands back each digest.
import { createHash } from 'node:crypto';
import { workerData } from 'node:worker_threads';
import { COMMAND, CTL, type HelperMemory, STATE, controlViews } from './whole-hash.js';

const memory = workerData as HelperMemory;
const buffer = new Uint8Array(memory.buffer, memory.offset, memory.length);
const { ctl, digest: digestArea } = controlViews(memory);
let hash = createHash('sha256');

for (;;) {
  Atomics.wait(ctl, CTL.state, STATE.idle);
  if (Atomics.load(ctl, CTL.state) !== STATE.posted) continue;
  let next: number = STATE.idle;
  try {
    const command = ctl[CTL.command];
    if (command === COMMAND.begin) {
      hash = createHash('sha256');
    } else if (command === COMMAND.chunk) {
      const part = buffer.subarray(ctl[CTL.start]!, ctl[CTL.end]!);
      hash.update(part);
      digestArea.set(createHash('sha256').update(part).digest());
    } else {
      digestArea.set(hash.digest());
      hash = createHash('sha256');
    }
  } catch {
    next = STATE.failed;
  }
  Atomics.store(ctl, CTL.state, next);
  Atomics.notify(ctl, CTL.state);
}
