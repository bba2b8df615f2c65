// bt log FILE [--json]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { nsToIso } from '../core/time.js';
import { resolveUserPath } from '../fs/paths.js';
import { fileHistory } from '../service/history.js';
import { JsonOption, command } from './command.js';
import { formatBytes, formatMode } from './format.js';
import { withContext } from './run-context.js';

export const log = command({
  name: 'log',
  args: '<file>',
  description: "Show a file's versions, newest first (version 1 is the oldest)",
  options: [JsonOption],
  optionsCodec: t.type({}),
  async run(args, _opts, io) {
    const abs = resolveUserPath(args[0]!);
    const h = await withContext(io.reporter('log'), null, (ctx) => fileHistory(ctx, abs));
    io.json({
      path: h.path,
      deleted: h.deleted,
      deleted_at: h.deletedAt,
      pending_since: h.pendingSince,
      versions: h.versions.map((v) => ({
        version: v.number,
        time: v.snapshot.staged_at,
        committed_at: v.snapshot.created_at,
        checksum: v.snapshot.content_id,
        kind: v.snapshot.kind,
        link_target: v.snapshot.link_target,
        size: v.snapshot.size,
        mode: formatMode(v.snapshot.mode),
        uid: v.snapshot.uid,
        gid: v.snapshot.gid,
        mtime: nsToIso(v.snapshot.mtime_ns),
        atime: nsToIso(v.snapshot.atime_ns),
        ctime: nsToIso(v.snapshot.ctime_ns),
        changes: v.changes,
        vaults: v.vaults,
      })),
    });
    io.line(`${h.path}${h.deleted ? ` (deleted ${h.deletedAt})` : ''}`);
    if (h.pendingSince) io.line(`a newer version is staged (since ${h.pendingSince}); run \`bt backup\``);
    for (const v of h.versions) {
      const s = v.snapshot;
      const what = s.kind === 'symlink' ? `symlink -> ${s.link_target}` : `${s.content_id}  ${formatBytes(s.size)}`;
      io.line(`version ${v.number}  ${s.staged_at}  ${what}`);
      io.line(`  mode ${formatMode(s.mode)}  owner ${s.uid}:${s.gid}  mtime ${nsToIso(s.mtime_ns)}`);
      io.line(`  changed: ${v.changes.join(', ')}`);
      io.line(`  stored in: ${v.vaults.join(', ') || '(no vault)'}`);
    }
    if (h.versions.length === 0) io.line('no versions backed up yet');
    return ExitCode.ok;
  },
});
