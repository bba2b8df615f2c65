// bt rebuild: drop every projection and replay the journal
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { JsonOption, command } from './command.js';
import { withContext } from './run-context.js';

export const rebuild = command({
  name: 'rebuild',
  description: 'Rebuild directories, files, snapshots, contents and staging from the journal',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(_args, _opts, io) {
    const started = Date.now();
    const r = await withContext(io.reporter('rebuild'), 'rebuild', (ctx) => ctx.store.rebuild());
    const seconds = (Date.now() - started) / 1000;
    io.json({ events: r.events, seconds });
    io.line(`replayed ${r.events} event(s) in ${seconds.toFixed(2)} s`);
    return ExitCode.ok;
  },
});
