// bt sync: upload the journal events each vault does not have yet
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { syncJournal } from '../service/journal-sync.js';
import { JsonOption, command } from './command.js';
import { formatBytes } from './format.js';
import { withContext } from './run-context.js';

export const sync = command({
  name: 'sync',
  description: "Upload the journal events each vault does not have yet (backup does this too)",
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(_args, _opts, io) {
    const results = await withContext(io.reporter('sync'), 'sync', async (ctx) => syncJournal(ctx, await ctx.vaults()));
    io.json({ vaults: results });
    for (const s of results) {
      if (s.error) io.line(`journal -> vault "${s.vault}": FAILED: ${s.error}`);
      else io.line(`journal -> vault "${s.vault}": ${s.events} new event(s) in ${s.segments} segment(s), ${formatBytes(s.bytes)}`);
    }
    return results.some((s) => s.error) ? ExitCode.error : ExitCode.ok;
  },
});
