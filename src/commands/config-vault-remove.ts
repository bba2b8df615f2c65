// bt config vault remove NAME: removes a vault from the config (what it stores is left as it is).
import * as t from 'io-ts';
import { maskVault } from '../config/mask.js';
import { ExitCode } from '../core/errors.js';
import { removeVault } from '../service/vault-config.js';
import { JsonOption, command } from './command.js';
import { withContext } from './run-context.js';

export const configVaultRemove = command({
  name: 'config vault remove',
  args: '<name>',
  description: 'Remove a vault from the config (its stored objects are not touched)',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(args, _opts, io) {
    const name = args[0]!;
    // Counted first, so a database that cannot answer stops the command before the config changes. Warned
    // about, not refused: retiring a dead disk is a reason to remove a vault.
    const onlyThere = await withContext(io.reporter('vault remove'), null, (ctx) =>
      ctx.store.queries.contentsOnlyIn(name, ctx.config.vaults.map((v) => v.name).filter((n) => n !== name)),
    );
    const r = removeVault(name);
    io.json({ config: r.path, removed: maskVault(r.removed), vaults: r.remaining, contents_only_there: onlyThere });
    io.line(`removed vault "${r.removed.name}" from ${r.path} (its stored objects are not touched)`);
    io.line(`vaults now: ${r.remaining.join(', ')}`);
    if (onlyThere > 0) {
      io.notice(
        `vault "${r.removed.name}" was the only one holding ${onlyThere} content(s) that backed-up versions need: they cannot be restored or checked until it is added back under its name (\`bt config vault add ${r.removed.name}\` with its location)`,
      );
    }
    return ExitCode.ok;
  },
});
