// Times as users type them (--at, --since, --until) and as bt prints them.
import { usageError } from './errors.js';

/**
 * Accepts ISO-8601 ("2026-11-23T10:00:00Z", "2026-11-23T10:00"), a date ("2026-11-23") or
 * "YYYY-MM-DD HH:MM[:SS]". Times without a zone are local time, as `date` prints them. A date alone means the
 * end of that day (what existed on that day, for --at and --until), or its start for `dateMeans: 'start'`
 * (--since: from that day on).
 */
export function parseUserTime(input: string, option: string, dateMeans: 'start' | 'end' = 'end'): number {
  const s = input.trim();
  let ms = NaN;
  // ISO 8601 only: Date.parse also takes "0" (the year 2000) or "1732478000" (the year 1732478000).
  if (/^\d{4}-\d\d-\d\d$/.test(s)) ms = Date.parse(`${s}T${dateMeans === 'start' ? '00:00:00.000' : '23:59:59.999'}`);
  else if (/^\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:?\d\d)?$/i.test(s)) ms = Date.parse(s.replace(/^(\d{4}-\d\d-\d\d) (\d)/, '$1T$2'));
  // Date.parse rolls a day past the month's end over ("2026-02-30" is March 2nd): not what was typed.
  if (Number.isNaN(ms) || !isCalendarDate(s.slice(0, 10))) {
    throw usageError(`${option}: cannot read "${input}" as a time`, 'use e.g. 2026-11-23T14:30:00Z or 2026-11-23');
  }
  return ms;
}

function isCalendarDate(ymd: string): boolean {
  const [y, m, d] = ymd.split('-').map(Number) as [number, number, number];
  const date = new Date(Date.UTC(2000, m - 1, d));
  date.setUTCFullYear(y);
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * Nanoseconds since the epoch (decimal text) to the seconds utimes takes, as text: Node replaces a negative
 * number (a time before 1970) with "now", while a numeric string reaches libuv as it is. libuv keeps whole
 * microseconds, cutting toward zero, and a double of seconds is ~0.24 us coarse today: aiming half a
 * microsecond past the wanted one (before it, for times before 1970) lands on it exactly.
 */
export function nsToUtime(ns: string): string {
  const us = floorDiv(BigInt(ns), 1000n);
  const whole = floorDiv(us, 1_000_000n);
  const fracNs = (us - whole * 1_000_000n) * 1000n + (us < 0n ? -500n : 500n);
  return String(Number(whole) + Number(fracNs) / 1e9);
}

const floorDiv = (a: bigint, b: bigint): bigint => (a >= 0n ? a / b : -((-a + b - 1n) / b));

export const nsToIso = (ns: string): string => new Date(Number(floorDiv(BigInt(ns), 1_000_000n))).toISOString();
