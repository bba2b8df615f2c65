import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalJson } from '../../src/events/canonical.js';
import { Random } from '../support/random.js';

/**
 * The encoder every journal row's hash was made with before its fast paths: the bytes must never change,
 * or recorded hashes would stop verifying.
 */
function reference(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON: non-finite number');
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((v) => reference(v)).join(',')}]`;
      const obj = value as Record<string, unknown>;
      const parts: string[] = [];
      for (const key of Object.keys(obj).sort()) {
        if (obj[key] !== undefined) parts.push(`${JSON.stringify(key)}:${reference(obj[key])}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new TypeError(`canonical JSON: cannot encode a ${typeof value}`);
  }
}

const KEYS = ['a', 'b', 'stage_id', 'file_id', 'meta', 'z', '10', '9', '0', '__proto__', 'é', '\u{1F600}', 'A', '', 'toJSON', '"q"'];

function randomValue(r: Random, depth: number): unknown {
  const leaf = [
    () => r.int(2000) - 1000,
    () => r.next() * 1e6,
    () => -0,
    () => ['', 'x', 'é\u0000\n"\\', '\u{1F600}', '\ud800'][r.int(5)],
    () => r.int(2) === 0,
    () => null,
  ];
  const rare = [() => undefined, () => Number.NaN, () => Infinity, () => 1n, () => (): void => {}, () => new Date(0)];
  if (r.int(40) === 0) return r.pick(rare)();
  if (depth >= 4 || r.int(3) === 0) return r.pick(leaf)();
  if (r.int(4) === 0) return Array.from({ length: r.int(4) }, () => randomValue(r, depth + 1));
  const obj: Record<string, unknown> = r.int(8) === 0 ? (Object.create(null) as Record<string, unknown>) : {};
  for (let i = r.int(6); i > 0; i--) {
    const key = r.pick(KEYS);
    // A JSON-parsed payload holds __proto__ as an own key; assignment would set the prototype instead.
    Object.defineProperty(obj, key, { value: randomValue(r, depth + 1), enumerable: true, writable: true, configurable: true });
  }
  return obj;
}

function outcome(encode: (v: unknown) => string, value: unknown): string {
  try {
    return `ok ${encode(value)}`;
  } catch (err) {
    return `threw ${(err as Error).message}`;
  }
}

test('canonical JSON writes the bytes (or throws the error) the reference encoder does, for 20,000 random values', () => {
  for (let seed = 1; seed <= 20_000; seed++) {
    const value = randomValue(new Random(seed), 0);
    assert.is(outcome(canonicalJson, value), outcome(reference, value), `seed ${seed}`);
  }
});

test('canonical JSON sorts keys at every level, skips undefined members, and refuses what JSON cannot hold', () => {
  assert.is(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: null }], c: 'é' }, u: undefined }), '{"a":{"c":"é","d":[1,{"x":null,"y":2}]},"b":1}');
  assert.is(canonicalJson({ 10: 'a', 9: 'b', x: 1 }), '{"10":"a","9":"b","x":1}');
  assert.is(canonicalJson(JSON.parse('{"z":1,"__proto__":{"b":2,"a":1}}')), '{"__proto__":{"a":1,"b":2},"z":1}');
  assert.throws(() => canonicalJson({ a: [1, undefined] }), /cannot encode a undefined/);
  assert.throws(() => canonicalJson({ b: 1, a: Number.NaN }), /non-finite number/);
  assert.throws(() => canonicalJson({ a: 1n }), /cannot encode a bigint/);
});

test.run();
