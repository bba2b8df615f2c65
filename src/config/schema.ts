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

export const VaultConfig = t.union([FsVaultConfig, S3VaultConfig]);
export type VaultConfig = t.TypeOf<typeof VaultConfig>;

export const Config = t.type({
  host_id: Ulid,
  base_dir: AbsolutePath,
  log_dir: AbsolutePath,
  database: t.type({ data_dir: AbsolutePath }),
  staging: t.type({ staging_dir: AbsolutePath }),
  fs: t.type({ ignore: t.array(t.string) }),
  backup: t.type({ concurrency: NonNegInt }),
  watch: t.type({ settle_ms: NonNegInt, backup_interval_minutes: NonNegInt, poll: t.boolean }),
  vaults: t.array(VaultConfig),
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
