// bt journal [--type T] [--file PATH] [--since TIME] [--until TIME] [--json]; bt journal verify
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { resolveUserPath } from '../fs/paths.js';
import { listJournal, verifyJournal } from '../service/journal-audit.js';
import { CliString, JsonOption, command, optional } from './command.js';
import { withContext } from './run-context.js';

export const journal = command({
  name: 'journal',
  description: 'List journal events in order, each with a one-line summary (the audit trail)',
  options: [
    { flags: '--type <type>', description: 'Only events of this type (e.g. SnapshotCommitted)' },
    { flags: '--file <path>', description: 'Only events about this file' },
    { flags: '--since <time>', description: 'Only events at or after this time' },
    { flags: '--until <time>', description: 'Only events at or before this time' },
    JsonOption,
  ],
  optionsCodec: t.type({ type: optional(CliString), file: optional(CliString), since: optional(CliString), until: optional(CliString) }),
  async run(_args, opts, io) {
    const filter = { ...opts, file: opts.file === undefined ? undefined : resolveUserPath(opts.file) };
    const lines = await withContext(io.reporter('journal'), null, (ctx) => listJournal(ctx, filter));
    io.json({
      events: lines.map(({ event: e, summary }) => ({
        seq: e.seq, id: e.id, time: e.time, type: e.event.type, version: e.version, host_id: e.host_id,
        summary, data: e.event.data, hash: e.hash,
      })),
    });
    for (const { event: e, summary } of lines) io.line(`${String(e.seq).padStart(6)}  ${e.time}  ${e.event.type.padEnd(17)}  ${summary}`);
    return ExitCode.ok;
  },
});

export const journalVerify = command({
  name: 'journal verify',
  description: "Check the local hash chain, and that each vault's segments match the local journal",
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(_args, _opts, io) {
    const r = await withContext(io.reporter('verify'), null, async (ctx) => verifyJournal(ctx, await ctx.vaults()));
    io.json(r);
    io.line(r.localOk ? `local journal: ${r.localEvents} event(s), chain intact` : `local journal: BROKEN at ${r.localProblem}`);
    for (const v of r.vaults) {
      if (v.ok) io.line(`vault "${v.vault}": ${v.matching} event(s) match${v.notYetSynced > 0 ? `, ${v.notYetSynced} not yet synced` : ''}`);
      else io.line(`vault "${v.vault}": PROBLEM: ${v.problem}`);
    }
    return r.localOk && r.vaults.every((v) => v.ok) ? ExitCode.ok : ExitCode.integrity;
  },
});
