// bt hosts [--vault NAME]: the host ids whose journals a vault holds
import * as t from 'io-ts';
import { readConfig } from '../config/file.js';
import { ExitCode, userError } from '../core/errors.js';
import { listVaultHosts } from '../service/vault-journal.js';
import { findVaultConfig, openVault } from '../vaults/registry.js';
import { CliString, JsonOption, command, optional } from './command.js';

export const hosts = command({
  name: 'hosts',
  description: 'List the hosts whose journals a vault holds, with their event count and last event time',
  options: [{ flags: '--vault <name>', description: 'Vault to look in (default: the first)' }, JsonOption],
  optionsCodec: t.type({ vault: optional(CliString) }),
  async run(_args, opts, io) {
    const config = readConfig();
    const vc = opts.vault === undefined ? config.vaults[0] : findVaultConfig(config, opts.vault);
    if (!vc) throw userError('no vault is configured', 'add one with `bt config vault add`');
    const vault = await openVault(vc);
    try {
      const list = await listVaultHosts(vault);
      io.json({ vault: vc.name, hosts: list.map((h) => ({ ...h, this_host: h.host === config.host_id })) });
      if (list.length === 0) io.line(`vault "${vc.name}" holds no journals yet`);
      for (const h of list) {
        const mine = h.host === config.host_id ? '  (this host)' : '';
        if (h.problem !== undefined) io.line(`${h.host}  DAMAGED: ${h.problem}${mine}`);
        else io.line(`${h.host}  ${h.events} event(s)  last ${h.lastEventAt ?? '-'}${mine}`);
      }
      // Corruption found (exit 4), as `bt journal verify` says it; the other hosts are listed all the same.
      return list.some((h) => h.problem !== undefined) ? ExitCode.integrity : ExitCode.ok;
    } finally {
      vault.close();
    }
  },
});
