// bt dir init [PATH]: track the current directory (or PATH)
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { realDirectory } from '../fs/paths.js';
import { trackDirectory } from '../service/track-directory.js';
import { JsonOption, command } from './command.js';
import { withContext } from './run-context.js';

export const dirInit = command({
  name: 'dir init',
  args: '[path]',
  description: 'Track the current directory, or PATH (a parent of tracked directories absorbs them)',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(args, _opts, io) {
    const path = realDirectory(args[0] ?? '.');
    const r = await withContext(io.reporter('dir init'), 'dir init', (ctx) => trackDirectory(ctx, path));
    io.json({ status: r.status, directory: r.directory.path, id: r.directory.id, absorbed: r.status === 'tracked' ? r.absorbed : [] });
    if (r.status === 'tracked') {
      io.line(`tracking ${r.directory.path}`);
      for (const child of r.absorbed) io.line(`absorbed ${child} (its files and history now belong here)`);
    } else if (r.status === 'already-tracked') {
      io.line(`${path} is already tracked`);
    } else {
      io.line(`${path} is already tracked as part of ${r.directory.path}`);
    }
    return ExitCode.ok;
  },
});
