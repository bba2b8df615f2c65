// What a command is: its words, arguments, options (decoded with io-ts) and a run step returning an exit code.
import * as t from 'io-ts';
import type { ExitCode } from '../core/errors.js';
import type { Io } from './io.js';

export interface OptionSpec {
  /** cac syntax: '--output <path>', '--force', '-n, --dry-run'. */
  readonly flags: string;
  readonly description: string;
}

export interface CommandSpec<O> {
  /** The words that name it: 'config vault init'. */
  readonly name: string;
  /** cac syntax for positional arguments: '[path]', '<file>'. */
  readonly args?: string;
  readonly description: string;
  readonly options?: readonly OptionSpec[];
  /** Decodes the parsed options; unknown ones are refused before this by cac. */
  readonly optionsCodec: t.Type<O, unknown, unknown>;
  run(args: readonly string[], options: O, io: Io): Promise<ExitCode>;
}

/** Erases the option type so specs can share one registry; each spec's run still sees its decoded type. */
export function command<O>(spec: CommandSpec<O>): CommandSpec<unknown> {
  return spec as unknown as CommandSpec<unknown>;
}

/**
 * Option values arrive with a NUL prefix (see main.ts: it keeps the parser from turning "0123" into 123);
 * these codecs strip it and check the type.
 */
const raw = (u: unknown): unknown => (typeof u === 'string' && u.startsWith('\u0000') ? u.slice(1) : u);

export const CliString = new t.Type<string, string, unknown>(
  'a value',
  // A value still carrying the prefix is not decoded yet: decodeWith takes what `is` accepts as it is.
  (u): u is string => typeof u === 'string' && !u.startsWith('\u0000'),
  (u, c) => {
    const v = raw(u);
    return typeof v === 'string' && v !== '' ? t.success(v) : t.failure(u, c, 'needs a value');
  },
  t.identity,
);

export const CliInt = new t.Type<number, number, unknown>(
  'a whole number',
  (u): u is number => typeof u === 'number' && Number.isInteger(u),
  (u, c) => {
    const v = raw(u);
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
    return Number.isSafeInteger(n) ? t.success(n) : t.failure(u, c, 'needs a whole number');
  },
  t.identity,
);

export const CliFlag = new t.Type<boolean, boolean, unknown>(
  'a flag',
  (u): u is boolean => typeof u === 'boolean',
  (u, c) => (u === undefined ? t.success(false) : typeof u === 'boolean' ? t.success(u) : t.failure(u, c, 'takes no value')),
  t.identity,
);

export const optional = <A>(codec: t.Type<A, A, unknown>): t.Type<A | undefined, A | undefined, unknown> =>
  t.union([codec, t.undefined]) as unknown as t.Type<A | undefined, A | undefined, unknown>;

export const JsonOption: OptionSpec = { flags: '--json', description: 'Print the result as JSON' };
