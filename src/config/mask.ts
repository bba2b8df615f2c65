// Secrets never leave bt: the config as it may be shown, with keys masked.
import type { Config, VaultConfig } from './schema.js';

const SECRET_KEYS = ['access_key_id', 'secret_access_key'] as const;

export function maskVault(v: VaultConfig): VaultConfig {
  if (v.type !== 's3') return v;
  const masked: Record<string, unknown> = { ...v };
  for (const key of SECRET_KEYS) if (typeof masked[key] === 'string') masked[key] = '********';
  return masked as VaultConfig;
}

export const maskConfig = (c: Config): Config => ({ ...c, vaults: c.vaults.map(maskVault) });
