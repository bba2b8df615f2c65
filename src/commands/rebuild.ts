// bt rebuild: drop every projection and replay the journal
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { rebuild as rebuildDatabase } from '../service/rebuild.js';
import { JsonOption, command } from './command.js';
import { withContext } from './run-context.js';

export const rebuild = command({
  name: 'rebuild',
  description: 'Rebuild directories, files, snapshots, contents and staging from the journal',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(_args, _opts, io) {
    const started = Date.now();
    const r = await withContext(io.reporter('rebuild'), 'rebuild', (ctx) => rebuildDatabase(ctx));
    const seconds = (Date.now() - started) / 1000;
    io.json({ events: r.events, seconds, damaged_copy: r.damagedCopy });
    io.line(`replayed ${r.events} event(s) in ${seconds.toFixed(2)} s`);
    if (r.damagedCopy !== null) io.line(`the damaged database was kept as ${r.damagedCopy}: delete it once bt works again`);
    return ExitCode.ok;
  },
});
