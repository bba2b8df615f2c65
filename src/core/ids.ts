// Identifiers and time: the one place bt reads the clock or makes ULIDs, so decisions stay testable.
import { randomFillSync } from 'node:crypto';
import { monotonicFactory } from 'ulid';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type IdSource = (time: number) => string;

/**
 * One monotonic factory per process, fed from a pool of random bytes: the package's own PRNG asks the
 * OS for one byte per character (16 calls per new millisecond), which showed up as a second of `bt backup`.
 */
export function ulidSource(): IdSource {
  const pool = Buffer.alloc(4096);
  let at = pool.length;
  const prng = (): number => {
    if (at === pool.length) {
      randomFillSync(pool);
      at = 0;
    }
    return pool[at++]! / 256;
  };
  const next = monotonicFactory(prng);
  return (time) => next(time);
}

export const isoTime = (ms: number): string => new Date(ms).toISOString();
