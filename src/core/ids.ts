// Identifiers and time: the one place bt reads the clock or makes ULIDs, so decisions stay testable.
import { monotonicFactory } from 'ulid';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export type IdSource = (time: number) => string;

/** One monotonic factory per process: plain ulid() is ~90 µs per call, this is ~1 µs. */
export function ulidSource(): IdSource {
  const next = monotonicFactory();
  return (time) => next(time);
}

export const isoTime = (ms: number): string => new Date(ms).toISOString();
