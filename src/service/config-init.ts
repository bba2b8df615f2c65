// `bt config init`: a new config with a fresh host id and a filesystem vault under the base dir.
import { configExists, configPath, defaultBaseDir, readConfig, writeConfig } from '../config/file.js';
import { type Config, defaultConfig } from '../config/schema.js';
import { statSync } from 'node:fs';
import { userError } from '../core/errors.js';
import { journalOwnerOf, recordVaultId } from '../store/database.js';
import { databaseFile } from './context.js';
import { systemClock, ulidSource } from '../core/ids.js';
import { openVault } from '../vaults/registry.js';
import type { SetupReport } from '../vaults/vault.js';

export interface InitResult {
  readonly path: string;
  readonly config: Config;
  readonly keptHostId: boolean;
  /** Where the host id came from: the config replaced, the database a lost config left, or new. */
  readonly hostIdFrom: 'config' | 'database' | 'new';
  readonly vault: SetupReport;
  /** The replaced config's database, when it holds a journal and the new config uses another. */
  readonly leftBehind: string | null;
}

/** Any valid host id: only the paths of a default config are read from it. */
const PLACEHOLDER_HOST = '00000000000000000000000000';

export async function initConfig(force: boolean): Promise<InitResult> {
  const path = configPath();
  let hostId: string | undefined;
  let replaced: Config | undefined;
  if (configExists(path)) {
    if (!force) throw userError(`a config already exists at ${path}`, 'use --force to replace it (the host id and the base directory are kept)');
    // The host id names this machine's journal in every vault: replacing the config must not orphan it.
    try {
      replaced = readConfig(path);
      hostId = replaced.host_id;
    } catch {
      hostId = undefined;
    }
  }
  // Nor its database: without BT_BASE_DIR, the replaced config's base directory stays (its journal is there).
  const baseDir = process.env.BT_BASE_DIR ? defaultBaseDir() : (replaced?.base_dir ?? defaultBaseDir());
  // A config lost while the database stayed: the database's journal says which host this is. A new host id
  // would send that journal to the vault under another host's name.
  const databaseOwner = hostId === undefined ? journalOwnerOf(databaseFile(defaultConfig(PLACEHOLDER_HOST, defaultBaseDir()))) : undefined;
  hostId ??= databaseOwner;
  const config = defaultConfig(hostId ?? ulidSource()(systemClock.now()), baseDir);
  // Told, not refused: BT_BASE_DIR names another place on purpose. The journal left behind is not lost.
  const leftBehind = replaced && databaseFile(replaced) !== databaseFile(config) && journalOwnerOf(databaseFile(replaced)) !== undefined ? databaseFile(replaced) : null;
  // Before anything is written: a config pointing at a file would fail every command after it.
  if (statSync(config.base_dir, { throwIfNoEntry: false })?.isDirectory() === false) {
    throw userError(`the base directory ${config.base_dir} is not a directory`, 'point BT_BASE_DIR at a directory (it is made if missing)');
  }
  writeConfig(config, path);
  const vaultConfig = config.vaults[0]!;
  const vault = await (await openVault(vaultConfig)).validateSetup();
  // A host that has a database (its config replaced, its vault set up anew) takes this vault as its own, as
  // `bt config vault init` does; a new machine records nothing until its first backup (it may be pointed
  // at an old vault next, for a recovery).
  // Not recorded (the database busy): a later refusal says to run `bt config vault init`.
  if (vault.id !== undefined) {
    try {
      recordVaultId(databaseFile(config), vaultConfig.name, vault.id);
    } catch {
      /* said when it matters */
    }
  }
  return { path, config, keptHostId: hostId !== undefined, hostIdFrom: databaseOwner !== undefined ? 'database' : hostId !== undefined ? 'config' : 'new', vault, leftBehind };
}
