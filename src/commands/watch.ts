// bt watch [--settle MS] [--interval MINUTES] [--poll] | bt watch --status [--json]
import * as t from 'io-ts';
import { ExitCode } from '../core/errors.js';
import { readWatcher } from '../service/watch-status.js';
import { CliFlag, CliInt, JsonOption, command, optional } from './command.js';
import { formatBytes } from './format.js';
import { withContext } from './run-context.js';

export const watchCommand = command({
  name: 'watch',
  description: 'Stage and back up changes in every tracked directory as they happen (runs until stopped)',
  options: [
    { flags: '--settle <ms>', description: 'Stage a file once it has been quiet this long (default: watch.settle_ms)' },
    { flags: '--interval <minutes>', description: 'Back up (and rescan) at least this often (default: watch.backup_interval_minutes)' },
    { flags: '--poll', description: 'Poll with stat instead of native events (network filesystems)' },
    { flags: '--status', description: 'Show whether a watcher runs for this host, and stop' },
    JsonOption,
  ],
  optionsCodec: t.type({ settle: optional(CliInt), interval: optional(CliInt), poll: CliFlag, status: CliFlag }),
  async run(_args, opts, io) {
    if (opts.status) {
      const report = await withContext(io.reporter('watch'), null, (ctx) => readWatcher(ctx.config.database.data_dir));
      if (!report.running) {
        io.json({ running: false, stale_pid: report.stale?.pid ?? null });
        io.line(report.stale ? `no watcher running (pid ${report.stale.pid} left a status file and is gone)` : 'no watcher running');
        return ExitCode.ok;
      }
      const s = report.status;
      io.json({ running: true, ...s });
      io.line(`watcher running: pid ${s.pid}, since ${s.since}, ${s.state}`);
      io.line(`watching ${s.directories.length} director${s.directories.length === 1 ? 'y' : 'ies'}; ${s.pending} change(s) pending`);
      for (const d of s.directories) io.line(`  ${d}`);
      io.line(s.last_backup_at ? `last backup ${s.last_backup_at} (${s.last_backup_files} file(s))` : 'no backup yet');
      return ExitCode.ok;
    }

    // The watcher (and chokidar) load only here, so other commands start fast.
    const { runWatcher } = await import('../service/watch.js');
    const controller = new AbortController();
    const onSignal = (signal: NodeJS.Signals): void => {
      if (controller.signal.aborted) {
        // A second signal means "now": safe, because the journal is transactional and the next start redoes the rest.
        io.notice(`${signal} again: exiting without finishing the step under way`);
        process.exit(130);
      }
      controller.abort(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    try {
      await runWatcher({
        settleMs: opts.settle,
        intervalMinutes: opts.interval,
        poll: opts.poll ? true : undefined,
        signal: controller.signal,
        echo: (line) => io.notice(line),
        formatBytes,
      });
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
    return ExitCode.ok;
  },
});
