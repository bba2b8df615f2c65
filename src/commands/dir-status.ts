// bt dir status [PATH] [--deleted] [--json]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { resolveUserPath } from '../fs/paths.js';
import { type DirectoryState, type FileState, directoryStatus } from '../service/status.js';
import { CliFlag, JsonOption, command } from './command.js';
import { withContext } from './run-context.js';

const LABEL: Record<FileState, string> = {
  'backed-up': 'backed up',
  staged: 'staged',
  modified: 'modified',
  untracked: 'untracked',
  missing: 'missing',
  ignored: 'ignored now, changes not backed up',
  deleted: 'deleted',
};

const ORDER: readonly FileState[] = ['staged', 'modified', 'missing', 'ignored', 'untracked', 'deleted', 'backed-up'];
const DIRECTORY_ORDER: readonly DirectoryState[] = ['new', 'changed', 'removed'];
/** A directory as `bt add` names it: relative, with a slash; the tracked directory itself is `./`. */
const shownDirectory = (name: string): string => (name === '' ? './' : `${name}/`);

export const dirStatus = command({
  name: 'dir status',
  args: '[path]',
  description: 'Show which files are backed up, staged, modified, missing or untracked, and which directories changed',
  options: [{ flags: '--deleted', description: 'Also list files recorded as deleted' }, JsonOption],
  optionsCodec: t.type({ deleted: CliFlag }),
  async run(args, opts, io) {
    const abs = resolveUserPath(args[0] ?? '.');
    const r = await withContext(io.reporter('status'), null, (ctx) => directoryStatus(ctx, abs, { deleted: opts.deleted }));
    io.json({
      directory: r.directory,
      files: r.files.map((f) => ({ path: f.name, state: f.state, pending: f.pending, backed_up: f.backedUp })),
      directories: r.directories.map((d) => ({ path: d.name === '' ? '.' : d.name, state: d.state })),
      skipped: r.skipped,
    });
    io.line(`directory ${r.directory}`);
    for (const state of ORDER) {
      const files = r.files.filter((f) => f.state === state);
      if (files.length === 0) continue;
      io.line(`${LABEL[state]} (${files.length}):`);
      for (const f of files) io.line(`  ${f.name}`);
    }
    if (r.files.length === 0 && r.skipped.length === 0) io.line('no files');
    // Not backed up, and `bt add` would say so: shown here too, not left out as if nothing were there.
    if (r.skipped.length > 0) io.line(`cannot be backed up (${r.skipped.length}):`);
    for (const s of r.skipped) io.line(`  ${s.path}: ${s.reason}`);
    // Directories only `bt add` records (mode, owner, mtime, removal): there is no staged state for them.
    for (const state of DIRECTORY_ORDER) {
      const dirs = r.directories.filter((d) => d.state === state);
      if (dirs.length === 0) continue;
      io.line(`directories ${state} (${dirs.length}):`);
      for (const d of dirs) io.line(`  ${shownDirectory(d.name)}`);
    }
    return ExitCode.ok;
  },
});
