// Identifiers and time: the one place bt reads the clock or makes ULIDs, so decisions stay testable.
import { createRequire } from 'node:module';
import { crypto } from './lazy-builtin.js';

// Loaded on the first id, not at start-up: the package loads node:crypto (~7 ms), and a run with nothing
// to record makes no id. Its CommonJS build, resolved from node_modules at run time.
const ulid = (): typeof import('ulid') => createRequire(import.meta.url)('ulid') as typeof import('ulid');

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
      crypto().randomFillSync(pool);
      at = 0;
    }
    return pool[at++]! / 256;
  };
  let next: ((time: number) => string) | undefined;
  return (time) => (next ??= ulid().monotonicFactory(prng))(time);
}

export const isoTime = (ms: number): string => new Date(ms).toISOString();
