// bt add [PATH]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { resolveUserPath } from '../fs/paths.js';
import { stageFiles } from '../service/stage-files.js';
import { JsonOption, command } from './command.js';
import { formatBytes } from './format.js';
import { withContext } from './run-context.js';

export const add = command({
  name: 'add',
  args: '[path]',
  description: 'Stage new and changed files under PATH (default .) and record deleted ones',
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(args, _opts, io) {
    const abs = resolveUserPath(args[0] ?? '.');
    const r = await withContext(io.reporter('staging'), 'add', (ctx) => stageFiles(ctx, abs));
    io.json({
      directory: r.directory, staged: r.staged, staged_bytes: r.stagedBytes, unchanged: r.unchanged, deleted: r.deleted,
      directories: r.directories, skipped: r.skipped, passed_over: r.passedOver,
    });
    const dirs = r.directories > 0 ? `; ${r.directories} directory change(s)` : '';
    io.line(`staged ${r.staged} file(s), ${formatBytes(r.stagedBytes)}; ${r.unchanged} unchanged; ${r.deleted} deleted${dirs}`);
    if (r.skipped.length > 0) io.line(`skipped ${r.skipped.length} file(s) that could not be staged (listed above, with why)`);
    if (r.staged > 0) io.line('run `bt backup` to store them');
    else if (r.deleted + r.directories > 0) io.line('run `bt backup` to record the changes in the vaults');
    return r.skipped.length > 0 ? ExitCode.partial : ExitCode.ok;
  },
});
