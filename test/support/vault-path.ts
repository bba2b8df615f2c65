// Points a test home's default filesystem vault at a directory outside HOME, so HOME can be lost.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BtHome } from './cli.js';

export function useVaultAt(bt: BtHome, vaultPath: string): void {
  const cfg = join(bt.home, '.config/bt.toml');
  const text = readFileSync(cfg, 'utf8');
  const replaced = text.replace(/path = "[^"]*\/vault"/, `path = ${JSON.stringify(vaultPath)}`);
  if (replaced === text) throw new Error('no filesystem vault path in the config');
  writeFileSync(cfg, replaced);
  bt.ok(['config', 'vault', 'init']);
}
