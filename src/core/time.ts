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

/** Nanoseconds since the epoch (decimal text) to seconds, as utimes takes them. */
export const nsToSeconds = (ns: string): number => Number(BigInt(ns) / 1000n) / 1e6;

export const nsToIso = (ns: string): string => new Date(Number(BigInt(ns) / 1_000_000n)).toISOString();
