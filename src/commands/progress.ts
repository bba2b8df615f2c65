// Progress on stderr for long work, only when stderr is a terminal (never in logs, pipes or --json runs
// read by scripts): files, bytes, rate and, when the total is known, a bar with an ETA (cli-progress).
import type { SingleBar } from 'cli-progress';
import type { Progress, Reporter } from '../service/context.js';

export function createProgressReporter(label: string, notice: (text: string) => void): Reporter {
  if (!process.stderr.isTTY || process.env.BT_NO_PROGRESS) return { notice };
  let bar: SingleBar | undefined;
  let loading: Promise<void> | undefined;
  let started = 0;
  let latest: Progress | undefined;
  let finished = false;

  const payload = (p: Progress): Record<string, string> => {
    const seconds = Math.max(0.001, (Date.now() - started) / 1000);
    return { mb: (p.bytes / 1e6).toFixed(1), rate: (p.bytes / 1e6 / seconds).toFixed(1), phase: p.phase };
  };
  const start = async (first: Progress): Promise<void> => {
    const { default: cliProgress } = await import('cli-progress');
    const known = first.totalFiles !== undefined;
    bar = new cliProgress.SingleBar(
      {
        format: known
          ? `${label} {bar} {percentage}% | {value}/{total} files | {mb} MB | {rate} MB/s | ETA {eta_formatted}`
          : `${label}: {value} files | {mb} MB | {rate} MB/s`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    const p = latest ?? first;
    bar.start(p.totalFiles ?? 0, p.files, payload(p));
    if (finished) bar.stop();
  };

  return {
    notice: (text) => {
      // A notice gets its own line above the bar, which redraws after it.
      if (bar) process.stderr.write('\r\u001b[2K');
      notice(text);
    },
    progress: (p) => {
      latest = p;
      if (!started) started = Date.now();
      if (!loading) loading = start(p);
      if (!bar) return;
      if (p.totalFiles !== undefined) bar.setTotal(p.totalFiles);
      bar.update(p.files, payload(p));
    },
    done: () => {
      finished = true;
      bar?.stop();
    },
  };
}
