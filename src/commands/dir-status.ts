// bt dir status [PATH] [--deleted] [--json]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { resolveUserPath } from '../fs/paths.js';
import { type FileState, directoryStatus } from '../service/status.js';
import { CliFlag, JsonOption, command } from './command.js';
import { withContext } from './run-context.js';

const LABEL: Record<FileState, string> = {
  'backed-up': 'backed up',
  staged: 'staged',
  modified: 'modified',
  untracked: 'untracked',
  missing: 'missing',
  deleted: 'deleted',
};

const ORDER: readonly FileState[] = ['staged', 'modified', 'missing', 'untracked', 'deleted', 'backed-up'];

export const dirStatus = command({
  name: 'dir status',
  args: '[path]',
  description: 'Show which files are backed up, staged, modified, missing or untracked',
  options: [{ flags: '--deleted', description: 'Also list files recorded as deleted' }, JsonOption],
  optionsCodec: t.type({ deleted: CliFlag }),
  async run(args, opts, io) {
    const abs = resolveUserPath(args[0] ?? '.');
    const r = await withContext(io.reporter('status'), null, (ctx) => directoryStatus(ctx, abs, { deleted: opts.deleted }));
    io.json({ directory: r.directory, files: r.files.map((f) => ({ path: f.name, state: f.state, pending: f.pending, backed_up: f.backedUp })) });
    io.line(`directory ${r.directory}`);
    for (const state of ORDER) {
      const files = r.files.filter((f) => f.state === state);
      if (files.length === 0) continue;
      io.line(`${LABEL[state]} (${files.length}):`);
      for (const f of files) io.line(`  ${f.name}`);
    }
    if (r.files.length === 0) io.line('no files');
    return ExitCode.ok;
  },
});
