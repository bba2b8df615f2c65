// bt config list [--json]
import * as t from 'io-ts';
import { configPath, readConfig } from '../config/file.js';
import { maskConfig } from '../config/mask.js';
import type { VaultConfig } from '../config/schema.js';
import { ExitCode } from '../core/errors.js';
import { JsonOption, command } from './command.js';

export function describeVault(v: VaultConfig): string {
  if (v.type === 'fs') return `${v.name}: filesystem at ${v.path}`;
  const where = v.endpoint ? ` via ${v.endpoint}` : '';
  const meta = `${v.metadata_bucket}/${v.metadata_bucket_prefix}`;
  return `${v.name}: s3 bucket ${v.content_bucket}/${v.content_bucket_prefix} (metadata ${meta})${where}`;
}

export const configList = command({
  name: 'config list',
  description: 'Show the settings: host id, directories, vaults, ignore list',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(_args, _opts, io) {
    const path = configPath();
    const config = maskConfig(readConfig(path));
    io.json({ path, ...config });
    io.line(`config       ${path}`);
    io.line(`host id      ${config.host_id}`);
    io.line(`base dir     ${config.base_dir}`);
    io.line(`data dir     ${config.database.data_dir}`);
    io.line(`staging dir  ${config.staging.staging_dir}`);
    io.line(`log dir      ${config.log_dir}`);
    io.line(`concurrency  ${config.backup.concurrency}`);
    io.line(`watch        settle ${config.watch.settle_ms} ms, backup at least every ${config.watch.backup_interval_minutes} min`);
    io.line(`ignore       ${config.fs.ignore.join(' ') || '(nothing)'}`);
    io.line(`vaults       ${config.vaults.length === 0 ? '(none)' : ''}`);
    for (const v of config.vaults) {
      io.line(`  ${describeVault(v)}`);
      if (v.type === 's3' && v.secret_access_key) io.line(`    keys in the config: ${v.access_key_id ?? ''} / ${v.secret_access_key}`);
    }
    return ExitCode.ok;
  },
});
