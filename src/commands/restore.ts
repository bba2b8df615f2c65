// bt restore FILE [--version N | --checksum PREFIX | --at TIME] [...]; bt restore DIR --output OUT [--at TIME] [--deleted]
import * as t from 'io-ts';
import { ExitCode, usageError } from '../core/errors.js';
import { isoTime } from '../core/ids.js';
import { parseUserTime } from '../core/time.js';
import { resolveUserPath } from '../fs/paths.js';
import { restoreFile } from '../service/restore.js';
import { isTreeRestore, restoreTree } from '../service/restore-tree.js';
import { CliFlag, CliInt, CliString, JsonOption, command, optional } from './command.js';
import { formatBytes } from './format.js';
import { withContext } from './run-context.js';

export const restore = command({
  name: 'restore',
  args: '<path>',
  description: 'Restore a version of a file beside it as FILE.<checksum>, or a whole directory into --output',
  options: [
    { flags: '--version <n>', description: 'Version number from `bt log` (1 = oldest)' },
    { flags: '--checksum <prefix>', description: 'The version with this checksum (at least 4 hex digits of it)' },
    { flags: '--at <time>', description: 'The version that was current at this time' },
    { flags: '--content-only', description: 'Restore the bytes only, not mode, owner and times' },
    { flags: '--output <path>', description: 'Where to write it (a file, an existing directory, or DIR/ to make one)' },
    { flags: '--force', description: 'Overwrite the output if it exists' },
    { flags: '--deleted', description: 'Directory restore: include files deleted as of that time' },
    JsonOption,
  ],
  optionsCodec: t.type({
    version: optional(CliInt),
    checksum: optional(CliString),
    at: optional(CliString),
    contentOnly: CliFlag,
    output: optional(CliString),
    force: CliFlag,
    deleted: CliFlag,
  }),
  async run(args, opts, io) {
    const abs = resolveUserPath(args[0]!);
    const output = opts.output === undefined ? undefined : resolveUserPath(opts.output);
    const result = await withContext(io.reporter('restore'), null, async (ctx) => {
      const atIso = opts.at === undefined ? undefined : isoTime(parseUserTime(opts.at, '--at'));
      if (!isTreeRestore(ctx, abs, { atIso, versionOfFile: opts.version !== undefined || opts.checksum !== undefined })) {
        if (opts.deleted) throw usageError('--deleted is for a directory restore', 'a deleted file restores without it');
        return { file: await restoreFile(ctx, abs, { ...opts, output, outputIsDirectory: opts.output?.endsWith('/') === true }), tree: undefined };
      }
      if (output === undefined) throw usageError(`${abs} is a directory: restoring it needs --output DIR`, 'e.g. `bt restore . --output ~/restored`');
      if (opts.version !== undefined || opts.checksum !== undefined) throw usageError('a directory restore takes --at, not --version or --checksum');
      return { file: undefined, tree: await restoreTree(ctx, abs, { output, at: opts.at, deleted: opts.deleted, force: opts.force, contentOnly: opts.contentOnly }) };
    });
    const tree = result.tree;
    if (tree) {
      io.json(tree);
      io.line(`restored ${tree.files} file(s), ${formatBytes(tree.bytes)}, from ${tree.source} as of ${tree.at} into ${tree.output}`);
      if (tree.deletedSkipped > 0) io.line(`${tree.deletedSkipped} file(s) deleted by then were left out (--deleted includes them)`);
      if (tree.shadowedSkipped > 0) {
        io.line(`${tree.shadowedSkipped} deleted file(s) left out: what was there as of then has their name or that of a directory above them`);
      }
      if (tree.stagedNotBackedUp > 0) {
        io.line(`${tree.stagedNotBackedUp} file(s) have a version staged but not backed up: restored as last backed up, or left out if never backed up (\`bt backup\` first to include them)`);
      }
      for (const w of tree.warnings) io.notice(w);
      if (tree.failed.length > 0) io.line(`${tree.failed.length} file(s) could not be restored (listed above)`);
      if (tree.damaged > 0) return ExitCode.integrity;
      return tree.failed.length > 0 ? ExitCode.error : ExitCode.ok;
    }
    const r = result.file!;
    io.json({ output: r.output, version: r.version, checksum: r.contentId, size: r.size, vault: r.vault, warnings: r.warnings });
    io.line(`restored version ${r.version} (${formatBytes(r.size)}) to ${r.output}${r.vault ? ` from vault "${r.vault}"` : ''}`);
    for (const w of r.warnings) io.notice(w);
    return ExitCode.ok;
  },
});
