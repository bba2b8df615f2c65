// Makes Vault objects from the config; the S3 implementation (and the AWS SDK) is imported only when used.
import type { Config, VaultConfig } from '../config/schema.js';
import { userError } from '../core/errors.js';
import { FileSystemVault } from './fs-vault.js';
import type { Vault, VaultIdentity } from './vault.js';

/**
 * `parallelism`: uploads run at once (backup.concurrency); an S3 vault sizes its connection pool for it.
 * `identity`: what this host recorded of a filesystem vault's id (opened without it, none is checked).
 */
export async function openVault(config: VaultConfig, parallelism?: number, identity?: VaultIdentity): Promise<Vault> {
  if (config.type === 'fs') return new FileSystemVault(config.name, config.path, identity);
  const { S3Vault } = await import('./s3-vault.js');
  return new S3Vault(config, { parallelism });
}

export async function openVaults(config: Config, identityOf?: (name: string) => VaultIdentity): Promise<Vault[]> {
  return Promise.all(config.vaults.map((v) => openVault(v, config.backup.concurrency, identityOf?.(v.name))));
}

export function findVaultConfig(config: Config, name: string): VaultConfig {
  const found = config.vaults.find((v) => v.name === name);
  if (!found) {
    const known = config.vaults.map((v) => v.name).join(', ') || 'none';
    throw userError(`no vault named "${name}" (configured: ${known})`, 'see `bt config list`');
  }
  return found;
}
