// bt config vault init [--json]
import * as t from 'io-ts';
import { readConfig } from '../config/file.js';
import { ExitCode } from '../core/errors.js';
import { vaultProblem } from '../vaults/vault.js';
import { openVault } from '../vaults/registry.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { databaseFile } from '../service/context.js';
import { recordVaultId, recordedContentsIn } from '../store/database.js';
import { MARKER } from '../vaults/fs-vault.js';
import { CliFlag, JsonOption, command } from './command.js';

export const configVaultInit = command({
  name: 'config vault init',
  description: 'Set up every configured vault and prove it can write, read back and delete',
  options: [{ flags: '--force', description: 'Also set up a directory the journal records contents in but that has no vault (a disk replaced, not one left unmounted)' }, JsonOption],
  optionsCodec: t.type({ force: CliFlag }),
  async run(_args, opts, io) {
    const config = readConfig();
    const results: { vault: string; ok: boolean; steps: readonly string[]; error?: string }[] = [];
    for (const vc of config.vaults) {
      // An empty mount point where a disk should be: setting it up would let the journal say a vault on the
      // wrong disk holds what the next backups put there.
      const place = vc.type === 'fs' ? vc.path : null;
      const recorded = place !== null && !opts.force && !existsSync(join(place, MARKER)) ? recordedContentsIn(databaseFile(config), vc.name) : 0;
      if (recorded > 0) {
        const error = `${place} has no ${MARKER}, but the journal records ${recorded} content(s) in this vault: is its disk not mounted? Mount it; for a disk replaced on purpose, run \`bt config vault init --force\`, then \`bt check --repair\` refills it`;
        results.push({ vault: vc.name, ok: false, steps: [], error });
        continue;
      }
      try {
        const vault = await openVault(vc);
        try {
          const report = await vault.validateSetup();
          // Set up or found here on the user's word: this is the vault this host uses under that name now.
          try {
            if (report.id !== undefined) recordVaultId(databaseFile(config), vc.name, report.id);
            results.push({ vault: vc.name, ok: true, steps: report.steps });
          } catch (err) {
            const why = err instanceof Error ? err.message : String(err);
            results.push({ vault: vc.name, ok: false, steps: report.steps, error: `set up, but not recorded as this host's vault (${why}); run \`bt config vault init\` again` });
          }
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
