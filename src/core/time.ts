// Times as users type them (--at, --since, --until) and as bt prints them.
import { usageError } from './errors.js';

/**
 * Accepts ISO-8601 ("2026-11-23T10:00:00Z", "2026-11-23T10:00"), a date ("2026-11-23", the end of that
 * day) or "YYYY-MM-DD HH:MM[:SS]". Times without a zone are local time, as `date` prints them.
 */
export function parseUserTime(input: string, option: string): number {
  const s = input.trim();
  let ms: number;
  if (/^\d{4}-\d\d-\d\d$/.test(s)) ms = Date.parse(`${s}T23:59:59.999`);
  else ms = Date.parse(s.replace(/^(\d{4}-\d\d-\d\d) (\d)/, '$1T$2'));
  if (Number.isNaN(ms)) {
    throw usageError(`${option}: cannot read "${input}" as a time`, 'use e.g. 2026-11-23T14:30:00Z or 2026-11-23');
  }
  return ms;
}

/**
 * Nanoseconds since the epoch (decimal text) to seconds, as utimes takes them. libuv keeps whole
 * microseconds of what it is given (it drops the rest), and a double of seconds is ~0.24 us coarse today:
 * aiming at the middle of the microsecond makes it land on that microsecond exactly.
 */
export function nsToSeconds(ns: string): number {
  const n = BigInt(ns);
  let whole = n / 1_000_000_000n;
  let frac = n - whole * 1_000_000_000n;
  if (frac < 0n) {
    whole -= 1n;
    frac += 1_000_000_000n;
  }
  return Number(whole) + Number((frac / 1000n) * 1000n + 500n) / 1e9;
}

export const nsToIso = (ns: string): string => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
