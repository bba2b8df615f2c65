// Reads and writes bt.toml: where it is, parse errors with line and column, decode errors with the key.
import { chmodSync, existsSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import { TomlError, parse, stringify } from 'smol-toml';
import { decodeWith } from '../core/decode.js';
import { errnoCode, userError } from '../core/errors.js';
import { Config, knownKeys } from './schema.js';
import { makeDirs } from '../fs/make-dirs.js';
import { isUnder } from '../fs/paths.js';

/** An empty variable (`BT_CONFIG=`) counts as unset, not as the current directory. */
const fromEnv = (name: string): string | undefined => (process.env[name] === '' ? undefined : process.env[name]);

export const configPath = (): string => resolve(fromEnv('BT_CONFIG') ?? `${homedir()}/.config/bt.toml`);

export const defaultBaseDir = (): string => resolve(fromEnv('BT_BASE_DIR') ?? `${homedir()}/data/bt`);

export function readConfig(path = configPath()): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') throw userError(`no config at ${path}`, 'run `bt config init` first');
    if (errnoCode(err) === 'EISDIR') throw configIsDirectory(path);
    throw userError(`cannot read the config ${path} (${errnoCode(err) ?? String(err)})`);
  }
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    if (err instanceof TomlError) {
      const what = err.message.split('\n')[0] ?? 'syntax error';
      throw userError(`config ${path} line ${err.line}, column ${err.column}: ${what}`, 'fix the file or re-create it with `bt config init --force`');
    }
    throw err;
  }
  // Unknown keys first: a misspelt key is also a missing one, and the misspelling is what to point at.
  const unknown = unknownKey(raw as Record<string, unknown>);
  if (unknown) throw userError(`config ${path}: unknown key ${unknown.key}`, `the keys there are ${unknown.known.join(', ')}`);
  const decoded = decodeWith(Config, raw);
  if (!decoded.ok) throw userError(`config ${path}: ${decoded.reason}`, 'fix that key in the file');
  const staging = decoded.value.staging.staging_dir;
  // The staging area is swept of what no stage names: it must hold nothing else of bt's.
  const others: [string, string][] = [
    ['base_dir', decoded.value.base_dir],
    ['database.data_dir', decoded.value.database.data_dir],
    ['log_dir', decoded.value.log_dir],
    ...decoded.value.vaults.flatMap((v): [string, string][] => (v.type === 'fs' ? [[`vault "${v.name}"`, v.path]] : [])),
  ];
  for (const [what, dir] of others) {
    if (isUnder(dir, staging)) {
      throw userError(`config ${path}: staging.staging_dir ${staging} holds the ${what} ${dir}`, `give the staging area a directory of its own (by default base_dir/staging), or move the ${what} out of it`);
    }
  }
  const names = new Set<string>();
  for (const v of decoded.value.vaults) {
    if (names.has(v.name)) throw userError(`config ${path}: vault name "${v.name}" is used twice`, 'give each vault its own name');
    names.add(v.name);
  }
  return decoded.value;
}

/** The first key bt does not know (a typo would otherwise be ignored without a word), with its table's keys. */
function unknownKey(raw: Record<string, unknown>): { key: string; known: readonly string[] } | undefined {
  const check = (table: string, where: string, value: Record<string, unknown>): { key: string; known: readonly string[] } | undefined => {
    const known = knownKeys(table, value);
    if (!known) return undefined;
    const key = Object.keys(value).find((k) => !known.includes(k));
    return key === undefined ? undefined : { key: `${where}${key}`, known };
  };
  const top = check('', '', raw);
  if (top) return top;
  for (const [table, value] of Object.entries(raw)) {
    if (table === 'vaults' && Array.isArray(value)) {
      for (const [i, v] of value.entries()) {
        const found = isTable(v) ? check('vaults', `vaults.${i}.`, v) : undefined;
        if (found) return found;
      }
    } else if (isTable(value)) {
      const found = check(table, `${table}.`, value);
      if (found) return found;
    }
  }
  return undefined;
}

/** A TOML table; anything else in its place is a wrong type, which decoding names with the value found. */
const isTable = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

const configIsDirectory = (path: string): Error =>
  userError(`the config ${path} is a directory`, 'point BT_CONFIG at a file (it need not exist before `bt config init`)');

const HEADER = '# bt configuration. Written by `bt config init`; safe to edit (bt checks it on every run).\n\n';

/** Atomic write, owner-only (0600): the file may hold S3 keys. */
export function writeConfig(config: Config, path = configPath()): void {
  makeDirs(dirname(path), 0o700);
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) throw configIsDirectory(path);
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, HEADER + stringify(Config.encode(config)) + '\n', { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, path);
  } catch (err) {
    // A full disk, say: the old config stays as it was, and no partial copy is left beside it.
    rmSync(tmp, { force: true });
    throw err;
  }
}

export const configExists = (path = configPath()): boolean => existsSync(path);
