// bt config vault remove NAME: removes a vault from the config (what it stores is left as it is).
import * as t from 'io-ts';
import { maskVault } from '../config/mask.js';
import { ExitCode } from '../core/errors.js';
import { removeVault } from '../service/vault-config.js';
import { JsonOption, command } from './command.js';

export const configVaultRemove = command({
  name: 'config vault remove',
  args: '<name>',
  description: 'Remove a vault from the config (its stored objects are not touched)',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(args, _opts, io) {
    const r = removeVault(args[0]!);
    io.json({ config: r.path, removed: maskVault(r.removed), vaults: r.remaining });
    io.line(`removed vault "${r.removed.name}" from ${r.path} (its stored objects are not touched)`);
    io.line(`vaults now: ${r.remaining.join(', ')}`);
    return ExitCode.ok;
  },
});
