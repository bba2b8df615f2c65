// Progress on stderr for long work, only when stderr is a terminal (never in logs or pipes).
import type { Progress, Reporter } from '../service/context.js';

export function createProgressReporter(label: string, notice: (text: string) => void): Reporter {
  if (!process.stderr.isTTY || process.env.BT_NO_PROGRESS) return { notice };
  let bar: import('cli-progress').SingleBar | undefined;
  let started = 0;
  const load = async (): Promise<void> => {
    const { default: cliProgress } = await import('cli-progress');
    bar = new cliProgress.SingleBar(
      {
        format: `${label} {bar} {percentage}% | {value}/{total} files | {mb} MB | {rate} MB/s | ETA {eta_formatted}`,
        stream: process.stderr,
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
      },
      cliProgress.Presets.shades_classic,
    );
  };
  const ready = load();
  return {
    notice: (text) => {
      if (bar) bar.stop();
      notice(text);
    },
    progress: (p: Progress) => {
      void ready.then(() => {
        if (!bar) return;
        const mb = (p.bytes / 1e6).toFixed(1);
        const rate = (p.bytes / 1e6 / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1);
        if (!started) {
          started = Date.now();
          bar.start(p.totalFiles ?? 0, p.files, { mb, rate });
        }
        if (p.totalFiles !== undefined) bar.setTotal(p.totalFiles);
        bar.update(p.files, { mb, rate });
      });
    },
    done: () => {
      bar?.stop();
    },
  };
}
