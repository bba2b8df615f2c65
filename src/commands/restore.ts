// bt restore FILE [--version N | --checksum PREFIX | --at TIME] [--content-only] [--output PATH] [--force]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { resolveUserPath } from '../fs/paths.js';
import { restoreFile } from '../service/restore.js';
import { CliFlag, CliInt, CliString, JsonOption, command, optional } from './command.js';
import { formatBytes } from './format.js';
import { withContext } from './run-context.js';

export const restore = command({
  name: 'restore',
  args: '<path>',
  description: 'Restore a version of a file beside it as FILE.<checksum> (or to --output)',
  options: [
    { flags: '--version <n>', description: 'Version number from `bt log` (1 = oldest)' },
    { flags: '--checksum <prefix>', description: 'The version with this checksum (prefix)' },
    { flags: '--at <time>', description: 'The version that was current at this time' },
    { flags: '--content-only', description: 'Restore the bytes only, not mode, owner and times' },
    { flags: '--output <path>', description: 'Where to write it (a file, or an existing directory)' },
    { flags: '--force', description: 'Overwrite the output if it exists' },
    JsonOption,
  ],
  optionsCodec: t.type({
    version: optional(CliInt),
    checksum: optional(CliString),
    at: optional(CliString),
    contentOnly: CliFlag,
    output: optional(CliString),
    force: CliFlag,
  }),
  async run(args, opts, io) {
    const abs = resolveUserPath(args[0]!);
    const output = opts.output === undefined ? undefined : resolveUserPath(opts.output);
    const r = await withContext(io.reporter('restore'), null, (ctx) =>
      restoreFile(ctx, abs, { ...opts, output }),
    );
    io.json({ output: r.output, version: r.version, checksum: r.contentId, size: r.size, vault: r.vault, warnings: r.warnings });
    io.line(`restored version ${r.version} (${formatBytes(r.size)}) to ${r.output}${r.vault ? ` from vault "${r.vault}"` : ''}`);
    for (const w of r.warnings) io.notice(w);
    return ExitCode.ok;
  },
});
