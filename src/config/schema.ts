// The configuration file's shape (bt.toml), decoded with io-ts on every read.
import * as t from 'io-ts';
import { NonNegInt, Ulid, pattern } from '../core/decode.js';

const AbsolutePath = pattern('absolute path', /^\//);
export const VaultName = pattern('vault name (letters, digits, - and _)', /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/);

export const FsVaultConfig = t.type({
  name: VaultName,
  type: t.literal('fs'),
  path: AbsolutePath,
});
export type FsVaultConfig = t.TypeOf<typeof FsVaultConfig>;

export const S3VaultConfig = t.intersection([
  t.type({
    name: VaultName,
    type: t.literal('s3'),
    content_bucket: t.string,
    content_bucket_prefix: t.string,
    metadata_bucket: t.string,
    metadata_bucket_prefix: t.string,
  }),
  t.partial({
    endpoint: t.string,
    region: t.string,
    force_path_style: t.boolean,
    storage_class: t.string,
    /** A named profile of the shared AWS config; otherwise the standard credential chain. */
    profile: t.string,
    /** Allowed but discouraged: the file is then written 0600 and `config list` masks them. */
    access_key_id: t.string,
    secret_access_key: t.string,
    concurrency: NonNegInt,
  }),
]);
export type S3VaultConfig = t.TypeOf<typeof S3VaultConfig>;

export type VaultConfig = FsVaultConfig | S3VaultConfig;
const VaultType = t.keyof({ fs: null, s3: null }, '"fs" or "s3"');

/**
 * A vault entry, decoded by its `type`: an error then names the field of that kind of vault that is wrong,
 * instead of printing the whole union of both shapes.
 */
export const VaultConfig = new t.Type<VaultConfig, VaultConfig, unknown>(
  'a [[vaults]] table',
  (u): u is VaultConfig => FsVaultConfig.is(u) || S3VaultConfig.is(u),
  (u, c) => {
    if (typeof u !== 'object' || u === null || Array.isArray(u)) return t.failure(u, c, 'a [[vaults]] table');
    const type = (u as Record<string, unknown>).type;
    if (type === 'fs') return FsVaultConfig.validate(u, c);
    if (type === 's3') return S3VaultConfig.validate(u, c);
    return t.failure(type, t.appendContext(c, 'type', VaultType, type));
  },
  t.identity,
);

/** The keys each table of bt.toml may hold: any other is a typo, reported instead of ignored. */
export function knownKeys(table: string, raw: Record<string, unknown>): readonly string[] | undefined {
  if (table === '') return Object.keys(Config.props);
  if (table === 'vaults') {
    return raw.type === 's3' ? [...Object.keys(S3VaultConfig.types[0].props), ...Object.keys(S3VaultConfig.types[1].props)] : Object.keys(FsVaultConfig.props);
  }
  const section = (Config.props as Record<string, t.Mixed>)[table];
  return section instanceof t.InterfaceType ? Object.keys(section.props as Record<string, unknown>) : undefined;
}

export const Config = t.type({
  host_id: Ulid,
  base_dir: AbsolutePath,
  log_dir: AbsolutePath,
  database: t.type({ data_dir: AbsolutePath }, 'a [database] table'),
  staging: t.type({ staging_dir: AbsolutePath }, 'a [staging] table'),
  fs: t.type({ ignore: t.array(t.string) }, 'a [fs] table'),
  backup: t.type({ concurrency: NonNegInt }, 'a [backup] table'),
  watch: t.type({ settle_ms: NonNegInt, backup_interval_minutes: NonNegInt, poll: t.boolean }, 'a [watch] table'),
  vaults: t.array(VaultConfig, 'a list of [[vaults]] tables'),
});
export type Config = t.TypeOf<typeof Config>;

/** Patterns every new config ignores: caches and scratch files nobody wants back. Editable in bt.toml. */
export const DEFAULT_IGNORE = ['.DS_Store', 'Thumbs.db', '*.swp', '*~', '.#*', 'node_modules/', '.cache/'];

export function defaultConfig(hostId: string, baseDir: string): Config {
  return {
    host_id: hostId,
    base_dir: baseDir,
    log_dir: `${baseDir}/log`,
    database: { data_dir: `${baseDir}/data` },
    staging: { staging_dir: `${baseDir}/staging` },
    fs: { ignore: [...DEFAULT_IGNORE] },
    backup: { concurrency: 4 },
    watch: { settle_ms: 2000, backup_interval_minutes: 15, poll: false },
    vaults: [{ name: 'local', type: 'fs', path: `${baseDir}/vault` }],
  };
}
