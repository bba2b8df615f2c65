// The workflow benchmark on one corpus: bt beside the hardware ceiling (sha256sum, cp -a), a raw
// stream-hash-copy script, and restic when installed. Every figure comes from the same run.
import { spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BT, type Measured, freshBt, measure, measureAll } from './measure.js';

const RAW = fileURLToPath(new URL('./raw-copy.mjs', import.meta.url));

export interface Step {
  readonly step: string;
  readonly bt: Measured;
  readonly restic?: Measured;
  /** Every run's time, when the step counts the best of several. */
  readonly runs?: string;
}

export interface WorkflowFigures {
  readonly corpus: string;
  readonly files: number;
  readonly bytes: number;
  readonly sha256sum: Measured;
  readonly cp: Measured;
  readonly raw: Measured;
  readonly steps: readonly Step[];
}

const hasRestic = (): boolean => spawnSync('restic', ['version']).status === 0;

export interface CorpusSpec {
  readonly name: string;
  readonly dir: string;
  readonly files: number;
  readonly bytes: number;
  /** A file to change in place (relative), one to add, and one to restore. */
  readonly change: string;
  readonly restoreOne: string;
  readonly restoreTree: boolean;
}

export function benchWorkflow(work: string, corpus: CorpusSpec): WorkflowFigures {
  const root = join(work, corpus.name);
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const resticEnv = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: join(root, 'restic'), RESTIC_CACHE_DIR: join(root, 'restic-cache') };
  const cwd = corpus.dir;
  const restic = hasRestic() ? (...args: string[]): Measured => measure('restic', ['-q', ...args], { cwd, env: resticEnv }) : undefined;

  // The ceiling first: it also warms the page cache for everyone after it.
  const sha256sum = measure('sh', ['-c', "find . -type f ! -name '.complete' -print0 | xargs -0 sha256sum > /dev/null"], { cwd });
  const cp = measure('cp', ['-a', cwd, join(root, 'cp-copy')], { cwd: root });
  rmSync(join(root, 'cp-copy'), { recursive: true, force: true });
  const raw = measure(process.execPath, [RAW, cwd, join(root, 'raw-copy')], { cwd: root });
  rmSync(join(root, 'raw-copy'), { recursive: true, force: true });

  const bt = freshBt(root, cwd);
  const btBackup = (): Measured => measureAll([() => bt('add', '.'), () => bt('backup')]);
  restic?.('init');
  const steps: Step[] = [];
  const both = (step: string, b: () => Measured, r?: () => Measured): void => {
    steps.push({ step, bt: b(), ...(r ? { restic: r() } : {}) });
  };
  both('first backup', btBackup, restic && (() => restic('backup', '.')));
  both('no change', btBackup, restic && (() => restic('backup', '.')));
  const changed = join(cwd, corpus.change);
  const original = readFileSync(changed);
  const added = join(cwd, 'bench-added.bin');
  try {
    appendFileSync(changed, 'one more line\n');
    writeFileSync(added, 'a new file\n');
    both('1 changed + 1 added', btBackup, restic && (() => restic('backup', '.')));
  } finally {
    writeFileSync(changed, original);
    rmSync(added, { force: true });
  }
  const outOne = join(root, 'restore-one');
  both(
    'restore 1 file',
    () => {
      const m = bt('restore', corpus.restoreOne, '--output', join(outOne, 'bt'));
      assertRestored(join(outOne, 'bt'), join(cwd, corpus.restoreOne));
      return m;
    },
    // restic 0.14 keeps `backup .` under "/" in the snapshot: the include is the path inside it. A pattern that
    // matches nothing restores nothing, quickly; so the restored file is checked to be there, whole.
    restic &&
      (() => {
        const m = restic('restore', 'latest', '--target', join(outOne, 'restic'), '--include', `/${corpus.restoreOne}`);
        assertRestored(join(outOne, 'restic', corpus.restoreOne), join(cwd, corpus.restoreOne));
        return m;
      }),
  );
  if (corpus.restoreTree) {
    const tree = (tool: string, run: (out: string) => Measured) => (i: number): Measured => {
      const out = join(root, `tree-${tool}-${i}`);
      const m = run(out);
      assertRestored(join(out, corpus.restoreOne), join(cwd, corpus.restoreOne));
      return m;
    };
    const btTree = tree('bt', (out) => bt('restore', '.', '--output', out));
    const resticTree = restic && tree('restic', (out) => restic('restore', 'latest', '--target', out));
    // Whichever tool writes the first 20k new files after the backups pays for the disk settling (here the
    // first of four restores took 1.5-2.5x as long as the other three, for bt and restic alike). So each
    // tool restores twice, in the order bt, restic, restic, bt, and its faster run counts.
    const b1 = btTree(1);
    const r1 = resticTree?.(1);
    const r2 = resticTree?.(2);
    const b2 = btTree(2);
    const faster = (a: Measured, b: Measured): Measured => (a.seconds <= b.seconds ? a : b);
    steps.push({
      step: 'restore whole tree (best of 2)',
      bt: faster(b1, b2),
      ...(r1 && r2 ? { restic: faster(r1, r2) } : {}),
      runs: `bt ${b1.seconds.toFixed(2)}, ${b2.seconds.toFixed(2)} s${r1 && r2 ? `; restic ${r1.seconds.toFixed(2)}, ${r2.seconds.toFixed(2)} s` : ''}`,
    });
  }
  rmSync(root, { recursive: true, force: true });
  return { corpus: corpus.name, files: corpus.files, bytes: corpus.bytes, sha256sum, cp, raw, steps };
}

/** A reference figure counts only if the tool really restored the file (same size as the original). */
function assertRestored(restored: string, original: string): void {
  if (!existsSync(restored) || statSync(restored).size !== statSync(original).size) {
    throw new Error(`benchmark: ${restored} was not restored (the tool's figure would time nothing)`);
  }
}

/** `bt --version` against `node -e ''`, best of several runs (start-up is noisy). */
export function benchStartup(runs = 15): { node: number; bt: number } {
  const best = (cmd: string[]): number => {
    let min = Infinity;
    for (let i = 0; i < runs; i++) {
      const t = process.hrtime.bigint();
      spawnSync(cmd[0]!, cmd.slice(1));
      min = Math.min(min, Number(process.hrtime.bigint() - t) / 1e6);
    }
    return min;
  };
  return { node: best([process.execPath, '-e', '']), bt: best([process.execPath, BT, '--version']) };
}

export const corpusReady = (dir: string): boolean => existsSync(join(dir, '.complete'));
