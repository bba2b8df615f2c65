// bt backup
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { backup } from '../service/backup.js';
import { JsonOption, command } from './command.js';
import { formatBytes } from './format.js';
import { withContext } from './run-context.js';

export const backupCommand = command({
  name: 'backup',
  description: 'Store every staged file in every vault, commit the snapshots, sync the journal',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(_args, _opts, io) {
    const r = await withContext(io.reporter('backup'), 'backup', (ctx) => backup(ctx));
    io.json({ files: r.files, bytes_sent: r.bytesSent, bytes_deduped: r.bytesDeduped, failed: r.failed, dropped: r.dropped, skipped_vaults: r.skipped, caught_up: r.caughtUp, journal: r.sync });
    io.line(`backed up ${r.files} file(s): ${formatBytes(r.bytesSent)} sent, ${formatBytes(r.bytesDeduped)} deduplicated`);
    for (const c of r.caughtUp) {
      const why = c.error ? `; FAILED: ${c.error}` : c.refused ? ` (it refused some: ${c.refused}; tried again next run)` : ' (no configured vault could give them: see `bt check`)';
      io.line(`vault "${c.vault}": ${c.contents} content(s) copied from the other vaults, ${formatBytes(c.bytes)} sent${c.left > 0 ? `; ${c.left} left${why}` : ''}`);
    }
    for (const s of r.sync) {
      if (s.error) io.line(`journal -> vault "${s.vault}": FAILED: ${s.error}`);
      else io.line(`journal -> vault "${s.vault}": ${s.events} new event(s), ${formatBytes(s.bytes)}`);
    }
    if (r.failed.length > 0) io.line(`${r.failed.length} file(s) kept staged for the next \`bt backup\` (see above)`);
    if (r.dropped.length > 0) io.line(`${r.dropped.length} file(s) not backed up: their staged copies were lost; run \`bt add\` to stage them again`);
    const incomplete = r.skipped.length > 0 || r.caughtUp.some((c) => c.left > 0);
    return r.failed.length > 0 || r.dropped.length > 0 || incomplete || r.sync.some((s) => s.error) ? ExitCode.error : ExitCode.ok;
  },
});
