// io-ts at the boundaries: small codec helpers and a reporter that turns decode errors into one line.
import * as t from 'io-ts';
import { isLeft } from 'fp-ts/lib/Either.js';

/** A string that must match `re`; decodes to a plain string. */
export function pattern(name: string, re: RegExp): t.Type<string, string, unknown> {
  return new t.Type<string, string, unknown>(
    name,
    (u): u is string => typeof u === 'string' && re.test(u),
    (u, c) => (typeof u === 'string' && re.test(u) ? t.success(u) : t.failure(u, c)),
    t.identity,
  );
}

export const NonNegInt = new t.Type<number, number, unknown>(
  'non-negative integer',
  (u): u is number => typeof u === 'number' && Number.isSafeInteger(u) && u >= 0,
  (u, c) => (typeof u === 'number' && Number.isSafeInteger(u) && u >= 0 ? t.success(u) : t.failure(u, c)),
  t.identity,
);

export const Ulid = pattern('ULID', /^[0-9A-HJKMNP-TV-Z]{26}$/);
export const Sha256 = pattern('SHA-256 hex', /^[0-9a-f]{64}$/);
/** An integer too large for a double (nanosecond times, inode numbers), kept as decimal text. */
export const Decimal = pattern('decimal integer', /^-?[0-9]+$/);
export const IsoTime = pattern('ISO-8601 UTC time', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);

function describeValue(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v);
  if (s === undefined) return String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** One line for the first error: dotted path, what was found, what was expected. */
export function formatDecodeErrors(errors: t.Errors): string {
  const first = errors[0];
  if (!first) return 'invalid value';
  // Union members appear in the context under their index; they are not part of the data's path.
  const path = first.context
    .filter((c, i) => i > 0 && !(first.context[i - 1]?.type instanceof t.UnionType))
    .map((c) => c.key)
    .join('.');
  const expected = first.context[first.context.length - 1]?.type.name ?? 'a valid value';
  const where = path === '' ? 'value' : path;
  return `${where}: expected ${expected}, got ${describeValue(first.value)}`;
}

/**
 * Decodes or returns the one-line reason; callers add where the data came from. Values that already have
 * the codec's shape pass through `is` without being copied (most of a replay's events).
 */
export function decodeWith<A, O>(codec: t.Type<A, O, unknown>, value: unknown): { ok: true; value: A } | { ok: false; reason: string } {
  if (codec.is(value)) return { ok: true, value };
  const result = codec.decode(value);
  if (isLeft(result)) return { ok: false, reason: formatDecodeErrors(result.left) };
  return { ok: true, value: result.right };
}
