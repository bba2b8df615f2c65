// `bt config init`: a new config with a fresh host id and a filesystem vault under the base dir.
import { configExists, configPath, defaultBaseDir, readConfig, writeConfig } from '../config/file.js';
import { type Config, defaultConfig } from '../config/schema.js';
import { userError } from '../core/errors.js';
import { systemClock, ulidSource } from '../core/ids.js';
import { openVault } from '../vaults/registry.js';
import type { SetupReport } from '../vaults/vault.js';

export interface InitResult {
  readonly path: string;
  readonly config: Config;
  readonly keptHostId: boolean;
  readonly vault: SetupReport;
}

export async function initConfig(force: boolean): Promise<InitResult> {
  const path = configPath();
  let hostId: string | undefined;
  if (configExists(path)) {
    if (!force) throw userError(`a config already exists at ${path}`, 'use --force to replace it (the host id is kept)');
    // The host id names this machine's journal in every vault: replacing the config must not orphan it.
    try {
      hostId = readConfig(path).host_id;
    } catch {
      hostId = undefined;
    }
  }
  const config = defaultConfig(hostId ?? ulidSource()(systemClock.now()), defaultBaseDir());
  writeConfig(config, path);
  const vaultConfig = config.vaults[0]!;
  const vault = await (await openVault(vaultConfig)).validateSetup();
  return { path, config, keptHostId: hostId !== undefined, vault };
}
