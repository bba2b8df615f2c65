// bt check [--read-data] [--vault NAME] [--repair]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { check } from '../service/check.js';
import { CliFlag, CliString, JsonOption, command, optional } from './command.js';
import { withContext } from './run-context.js';

export const checkCommand = command({
  name: 'check',
  description: 'Verify the journal chain and that every vault holds the contents snapshots need',
  options: [
    { flags: '--read-data', description: 'Read every object back and verify its SHA-256' },
    { flags: '--vault <name>', description: 'Check only this vault' },
    { flags: '--repair', description: 'Re-upload missing or corrupt objects from staged copies or other vaults' },
    JsonOption,
  ],
  optionsCodec: t.type({ readData: CliFlag, vault: optional(CliString), repair: CliFlag }),
  async run(_args, opts, io) {
    const r = await withContext(io.reporter('check'), opts.repair ? 'check --repair' : null, (ctx) => check(ctx, { ...opts, liveProblems: !io.stdoutIsTerminal }));
    io.json(r);
    io.line(r.journalOk ? `journal: ${r.journalEvents} event(s), chain intact` : `journal: BROKEN at ${r.journalProblem}`);
    io.line(`contents: ${r.contents} needed by snapshots, ${r.objectsChecked} object(s) checked${opts.readData ? ' (read and verified)' : ''}`);
    for (const p of r.problems) {
      io.line(`vault "${p.vault}": ${p.contentId} ${p.problem}${p.detail ? ` (${p.detail})` : ''}${p.repaired ? `; REPAIRED ${p.repairNote ?? ''}` : p.repairNote ? `; not repaired: ${p.repairNote}` : ''}`);
      for (const a of p.affects) io.line(`  affects ${a.path} version ${a.version}`);
    }
    for (const p of r.journalCopies) {
      const outcome = p.repaired ? `; REPAIRED: ${p.repairNote ?? ''}` : p.repairNote ? `; not repaired: ${p.repairNote}` : '';
      io.line(`vault "${p.vault}": journal segment ${p.key}: ${p.problem}${outcome}`);
    }
    for (const u of r.unavailable) io.line(`vault "${u.vault}": unavailable, ${u.contents} content(s) there not checked: ${u.reason}`);
    for (const u of r.unconfigured) {
      const what =
        u.contents > 0
          ? `${u.contents} content(s) stored only there (by the journal) not checked`
          : `${u.alsoElsewhere} content(s) recorded there not checked (a configured vault holds them too)`;
      io.line(`vault "${u.vault}": not in the config, ${what}; if a configured vault is that vault under another name, name it "${u.vault}" in bt.toml`);
    }
    // --vault naming a vault the journal records nothing in, while snapshots need contents: renamed, likely.
    const nothingThere = r.recordedInVault === 0 && r.contents > 0;
    if (nothingThere) {
      const recorded = r.unconfigured.map((u) => `"${u.vault}"`).join(', ');
      io.line(`vault "${opts.vault}": the journal records none of the ${r.contents} content(s) there${recorded ? `; recorded in vaults not in the config: ${recorded} (if it is one of them, give it that name in bt.toml)` : ''}`);
    }
    // A vault ahead of this journal (recovered --at, or an older database) is said, but is no damage.
    const open = r.problems.filter((p) => !p.repaired).length + r.journalCopies.filter((p) => !p.repaired && p.kind !== 'ahead').length;
    const unchecked = r.unavailable.length + r.unconfigured.filter((u) => u.contents > 0).length + (nothingThere ? 1 : 0);
    if (r.problems.length === 0 && r.journalCopies.every((p) => p.kind === 'ahead') && r.journalOk && unchecked === 0 && r.unconfigured.length === 0) io.line('no problems found');
    else if (open > 0 && !opts.repair) io.line(`${open} problem(s); \`bt check --repair\` re-uploads what it can`);
    if (!r.journalOk || open > 0) return ExitCode.integrity;
    // Nothing found damaged, but not everything could be looked at.
    return unchecked > 0 ? ExitCode.error : ExitCode.ok;
  },
});
