// bt config init [--force]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { initConfig } from '../service/config-init.js';
import { CliFlag, JsonOption, command } from './command.js';

export const configInit = command({
  name: 'config init',
  description: 'Create the config (~/.config/bt.toml, or $BT_CONFIG) with a new host id and a local vault',
  options: [{ flags: '--force', description: 'Replace an existing config (keeps its host id and base directory)' }, JsonOption],
  optionsCodec: t.type({ force: CliFlag }),
  async run(_args, opts, io) {
    const r = await initConfig(opts.force);
    io.json({ config: r.path, host_id: r.config.host_id, base_dir: r.config.base_dir, vault: r.config.vaults[0], steps: r.vault.steps });
    io.line(`wrote ${r.path}`);
    const from = { config: ' (kept from the previous config)', database: ' (the one the existing database records)', new: '' };
    io.line(`host id ${r.config.host_id}${from[r.hostIdFrom]}`);
    for (const step of r.vault.steps) io.line(`vault "${r.config.vaults[0]!.name}": ${step}`);
    if (r.leftBehind) io.line(`note: the replaced config's database ${r.leftBehind} holds a journal this config does not use; to go on with it, set base_dir (and the directories under it) back in ${r.path}`);
    io.line('next: `bt dir init` in a directory to back up, then `bt add` and `bt backup`');
    return ExitCode.ok;
  },
});
