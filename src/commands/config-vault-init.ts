// bt config vault init [--json]
import * as t from 'io-ts';
import { readConfig } from '../config/file.js';
import { ExitCode } from '../core/errors.js';
import { vaultProblem } from '../vaults/vault.js';
import { openVault } from '../vaults/registry.js';
import { JsonOption, command } from './command.js';

export const configVaultInit = command({
  name: 'config vault init',
  description: 'Set up every configured vault and prove it can write, read back and delete',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(_args, _opts, io) {
    const config = readConfig();
    const results: { vault: string; ok: boolean; steps: readonly string[]; error?: string }[] = [];
    for (const vc of config.vaults) {
      try {
        const vault = await openVault(vc);
        try {
          const report = await vault.validateSetup();
          results.push({ vault: vc.name, ok: true, steps: report.steps });
        } finally {
          vault.close();
        }
      } catch (err) {
        results.push({ vault: vc.name, ok: false, steps: [], error: vaultProblem(vc.name, err) });
      }
    }
    io.json({ vaults: results });
    if (results.length === 0) io.line('no vaults are configured; add one with `bt config vault add`');
    for (const r of results) {
      for (const step of r.steps) io.line(`vault "${r.vault}": ${step}`);
      if (!r.ok) io.line(`vault "${r.vault}": FAILED: ${r.error}`);
    }
    return results.every((r) => r.ok) && results.length > 0 ? ExitCode.ok : ExitCode.error;
  },
});
