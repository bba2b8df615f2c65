// bt recover [--host HOST_ID] [--vault NAME] [--at TIME]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { recover } from '../service/recover.js';
import { CliString, JsonOption, command, optional } from './command.js';
import { withContext } from './run-context.js';

/** A host whose last event is younger than this may still be running somewhere. */
const RECENT_MS = 24 * 3600 * 1000;

export const recoverCommand = command({
  name: 'recover',
  description: "Rebuild this machine's metadata from a vault's copy of a host's journal, and adopt that host id",
  options: [
    { flags: '--host <id>', description: 'Host id to recover (see `bt hosts`); default: the only one, or this config\'s' },
    { flags: '--vault <name>', description: 'Vault to read the journal from (default: the first)' },
    { flags: '--at <time>', description: 'Only the events up to this time: the metadata as it was then (read-only)' },
    JsonOption,
  ],
  optionsCodec: t.type({ host: optional(CliString), vault: optional(CliString), at: optional(CliString) }),
  async run(_args, opts, io) {
    const r = await withContext(io.reporter('recover'), null, async (ctx) => {
      await ctx.lockHost('recover', { allowFrozen: true });
      return recover(ctx, opts);
    }, { adoptsJournal: true });
    io.json(r);
    io.line(`recovered host ${r.host} from vault "${r.vault}": ${r.events} event(s) (${r.imported} imported), chain verified`);
    if (r.adoptedHostId) io.line(`this machine now uses host id ${r.host} (config updated)`);
    // Adopting a host that wrote a moment ago: that machine may still run, and two machines with one host
    // id break its journal in the vault.
    if (r.adoptedHostId && r.lastEventAt !== null && Date.now() - Date.parse(r.lastEventAt) < RECENT_MS) {
      io.notice(`host ${r.host} last wrote to the vault at ${r.lastEventAt}: if that machine still runs bt, stop it there for good; two machines using one host id corrupt its journal in the vault`);
    }
    if (r.at) io.line(`metadata as it was at ${r.at}; read-only: restore what you need, then \`bt recover\` without --at to continue`);
    if (r.lostStages > 0) io.line(`${r.lostStages} staged version(s) had not been backed up to a vault configured here before the loss; they are dropped`);
    if (r.keptStages > 0) io.line(`${r.keptStages} staged version(s) whose content a vault holds (or symlinks) are kept: run \`bt backup\` to commit them`);
    return ExitCode.ok;
  },
});
