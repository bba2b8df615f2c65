// `bt config vault add|remove`: validated edits of the config's vault list (the vaults themselves are untouched).
import { isAbsolute, resolve } from 'node:path';
import * as t from 'io-ts';
import { configPath, readConfig, writeConfig } from '../config/file.js';
import { type Config, type FsVaultConfig, type S3VaultConfig, type VaultConfig, VaultName } from '../config/schema.js';
import { decodeWith, pattern } from '../core/decode.js';
import { usageError, userError } from '../core/errors.js';
import { isUnder } from '../fs/paths.js';
import { findVaultConfig } from '../vaults/registry.js';

export interface FsVaultInput {
  readonly type: 'fs';
  readonly name: string;
  readonly path: string;
}

export interface S3VaultInput {
  readonly type: 's3';
  readonly name: string;
  readonly bucket: string;
  readonly prefix?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly forcePathStyle?: boolean;
  readonly storageClass?: string;
  readonly metadataBucket?: string;
  readonly metadataPrefix?: string;
  readonly profile?: string;
}

export type VaultInput = FsVaultInput | S3VaultInput;

/**
 * Bucket names as S3 allows them today (3-63 of a-z 0-9 . -, starting and ending with a letter or digit);
 * a little looser (upper case, _) for S3-compatible servers with legacy names.
 */
const BucketName = pattern('bucket name', /^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$/);
/** Prefixes: S3's safe key characters, no leading '/', no empty or dot segments ('//' breaks some servers). */
const KeyPrefix = pattern('key prefix', /^(?!\/)(?!.*\/\/)(?!(.*\/)?\.\.?(\/|$))[A-Za-z0-9!_.*'()\/-]*$/);
function isEndpointUrl(u: unknown): u is string {
  if (typeof u !== 'string') return false;
  try {
    const url = new URL(u);
    // Credentials in the URL would be a secret in bt.toml; queries and fragments mean nothing to S3.
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === '' && url.hash === '';
  } catch {
    return false;
  }
}
const Endpoint = new t.Type<string, string, unknown>('http(s) URL', isEndpointUrl, (u, c) => (isEndpointUrl(u) ? t.success(u) : t.failure(u, c)), t.identity);
const Region = pattern('region', /^[a-z0-9][a-z0-9-]{0,62}$/i);
const StorageClassName = pattern('storage class', /^[A-Z][A-Z0-9_]{0,63}$/);
const ProfileName = pattern('profile name', /^[A-Za-z0-9_.@+-]{1,128}$/);

function check<A>(codec: t.Type<A, A, unknown>, value: string, flag: string, hint: string): A {
  const r = decodeWith(codec, value);
  if (!r.ok) throw usageError(`${flag} "${value}" is not a valid ${codec.name}`, hint);
  return r.value;
}

/** "" stays ""; anything else ends with exactly one '/'. */
const asPrefix = (p: string): string => (p === '' ? '' : `${p.replace(/\/+$/, '')}/`);

/** The config entry for an S3 vault. Metadata defaults to the content bucket under `<prefix>metadata/`. */
export function s3VaultConfig(input: S3VaultInput): S3VaultConfig {
  const bucket = check(BucketName, input.bucket, '--bucket', '3-63 characters: lower-case letters, digits, dots and hyphens');
  const prefixHint = "letters, digits and !_.*'()-/ , not starting with '/', without '//' or '..'";
  const prefix = asPrefix(check(KeyPrefix, input.prefix ?? '', '--prefix', prefixHint));
  const metadataBucket = input.metadataBucket === undefined ? bucket : check(BucketName, input.metadataBucket, '--metadata-bucket', '3-63 characters: lower-case letters, digits, dots and hyphens');
  const metadataPrefix = input.metadataPrefix === undefined ? `${prefix}metadata/` : asPrefix(check(KeyPrefix, input.metadataPrefix, '--metadata-prefix', prefixHint));
  if (metadataBucket === bucket && (metadataPrefix === prefix || `${prefix}content/`.startsWith(metadataPrefix) || metadataPrefix.startsWith(`${prefix}content/`))) {
    throw usageError(`the metadata prefix "${metadataPrefix}" overlaps the content under "${prefix}content/"`, 'choose another --metadata-prefix (the default is <prefix>metadata/)');
  }
  const config: S3VaultConfig = {
    name: input.name,
    type: 's3',
    content_bucket: bucket,
    content_bucket_prefix: prefix,
    metadata_bucket: metadataBucket,
    metadata_bucket_prefix: metadataPrefix,
  };
  if (input.endpoint !== undefined) {
    if (/^[a-z]+:\/\/[^/]*@/i.test(input.endpoint)) {
      throw usageError('--endpoint must not contain credentials', 'give the URL without user:password@; credentials come from the AWS environment or profile');
    }
    config.endpoint = check(Endpoint, input.endpoint, '--endpoint', 'e.g. https://s3.example.com or http://127.0.0.1:9000').replace(/\/+$/, '');
  }
  if (input.region !== undefined) config.region = check(Region, input.region, '--region', 'e.g. us-east-1, eu-central-1');
  if (input.forcePathStyle) config.force_path_style = true;
  if (input.storageClass !== undefined) config.storage_class = check(StorageClassName, input.storageClass, '--storage-class', 'e.g. STANDARD, STANDARD_IA, INTELLIGENT_TIERING');
  if (input.profile !== undefined) config.profile = check(ProfileName, input.profile, '--profile', 'a profile name from ~/.aws/config');
  return config;
}

export function fsVaultConfig(input: FsVaultInput): FsVaultConfig {
  if (!isAbsolute(input.path)) {
    throw usageError(`--path must be an absolute path, got "${input.path}"`, `e.g. --path ${resolve(input.path)}`);
  }
  return { name: input.name, type: 'fs', path: resolve(input.path) };
}

export interface AddResult {
  readonly path: string;
  readonly vault: VaultConfig;
}

/**
 * Adds a vault to the config. `checkReuse` is given the new vault before anything is written: it refuses a
 * name the journal records contents under, unless the vault is the one that holds them (vault-reuse.ts).
 */
export async function addVault(
  input: VaultInput,
  checkReuse: (vault: VaultConfig) => Promise<void> = async () => {},
  trackedDirectories: readonly string[] = [],
): Promise<AddResult> {
  if (!decodeWith(VaultName, input.name).ok) {
    throw usageError(`"${input.name}" is not a valid vault name`, 'use up to 64 letters, digits, - and _, starting with a letter or digit');
  }
  const vault = input.type === 'fs' ? fsVaultConfig(input) : s3VaultConfig(input);
  const path = configPath();
  const config = readConfig(path);
  if (config.vaults.some((v) => v.name === input.name)) {
    throw userError(`a vault named "${input.name}" already exists`, `choose another name, or remove it first with \`bt config vault remove ${input.name}\``);
  }
  if (vault.type === 'fs') checkFsVaultPlace(config, vault, trackedDirectories);
  await checkReuse(vault);
  writeConfig({ ...config, vaults: [...config.vaults, vault] }, path);
  return { path, vault };
}

/**
 * A filesystem vault apart from everything else bt keeps: not in the staging area, database or log
 * directory (bt sweeps and rewrites those), not around any of them or another vault, and not a tracked
 * directory or around one (a backup of it would store the vault inside itself). Inside the base directory
 * (the default vault is) and inside a tracked directory (walks leave it out) are fine.
 */
function checkFsVaultPlace(config: Config, vault: FsVaultConfig, trackedDirectories: readonly string[]): void {
  const refuse = (why: string): never => {
    throw userError(`vault path ${vault.path} ${why}`, 'give the vault a directory of its own, apart from bt\'s own directories, other vaults and tracked directories');
  };
  const own: [string, string][] = [
    ['the staging area', config.staging.staging_dir],
    ['the database directory', config.database.data_dir],
    ['the log directory', config.log_dir],
  ];
  for (const [what, dir] of own) if (isUnder(vault.path, dir)) refuse(`is in ${what} ${dir}`);
  for (const [what, dir] of [...own, ['the base directory', config.base_dir] as [string, string]]) {
    if (isUnder(dir, vault.path)) refuse(`holds ${what} ${dir}`);
  }
  for (const v of config.vaults) {
    if (v.type === 'fs' && (isUnder(v.path, vault.path) || isUnder(vault.path, v.path))) refuse(`overlaps vault "${v.name}" at ${v.path}`);
  }
  for (const dir of trackedDirectories) if (isUnder(dir, vault.path)) refuse(`holds the tracked directory ${dir}`);
}

export interface RemoveResult {
  readonly path: string;
  readonly removed: VaultConfig;
  readonly remaining: readonly string[];
}

export function removeVault(name: string): RemoveResult {
  const path = configPath();
  const config = readConfig(path);
  const removed = findVaultConfig(config, name);
  const vaults = config.vaults.filter((v) => v.name !== name);
  // With no vault, `bt backup` would have nowhere to put anything.
  if (vaults.length === 0) throw userError(`"${name}" is the only vault; bt would have nowhere to store backups`, 'add another one first with `bt config vault add`');
  writeConfig({ ...config, vaults }, path);
  return { path, removed, remaining: vaults.map((v) => v.name) };
}
