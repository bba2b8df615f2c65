// Every command bt has, in the order `bt --help` lists them.
import { add } from './add.js';
import { backupCommand } from './backup.js';
import { checkCommand } from './check.js';
import type { CommandSpec } from './command.js';
import { configInit } from './config-init.js';
import { configList } from './config-list.js';
import { configVaultAdd } from './config-vault-add.js';
import { configVaultInit } from './config-vault-init.js';
import { configVaultRemove } from './config-vault-remove.js';
import { dirInit } from './dir-init.js';
import { dirStatus } from './dir-status.js';
import { hosts } from './hosts.js';
import { journal, journalVerify } from './journal.js';
import { log } from './log.js';
import { rebuild } from './rebuild.js';
import { recoverCommand } from './recover.js';
import { restore } from './restore.js';
import { sync } from './sync.js';
import { watchCommand } from './watch.js';

export const commands: readonly CommandSpec<unknown>[] = [
  configInit,
  configList,
  configVaultAdd,
  configVaultRemove,
  configVaultInit,
  dirInit,
  dirStatus,
  add,
  backupCommand,
  watchCommand,
  log,
  restore,
  sync,
  recoverCommand,
  hosts,
  journal,
  journalVerify,
  checkCommand,
  rebuild,
];
