// An in-process bt host in a temporary directory: real config, real SQLite, real filesystem vault.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Config, defaultConfig } from '../../src/config/schema.js';
import { ulidSource } from '../../src/core/ids.js';
import { Context, type Reporter } from '../../src/service/context.js';
import { FileSystemVault } from '../../src/vaults/fs-vault.js';
import { tempDir } from './tmp.js';

export interface TestHost {
  readonly root: string;
  readonly config: Config;
  readonly notices: string[];
  open(): Context;
}

export async function testHost(label = 'bt-host'): Promise<TestHost> {
  const root = tempDir(label);
  const config = defaultConfig(ulidSource()(Date.now()), join(root, 'bt'));
  mkdirSync(config.base_dir, { recursive: true });
  await new FileSystemVault('local', config.vaults[0]!.type === 'fs' ? config.vaults[0]!.path : '').validateSetup();
  const notices: string[] = [];
  const reporter: Reporter = { notice: (m) => notices.push(m) };
  return { root, config, notices, open: () => Context.open(reporter, config) };
}
