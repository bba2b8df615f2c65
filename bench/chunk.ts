// The chunking benchmark (ADR 0012): the first backup of the large corpus with chunking against the same bt
// storing large files whole (BT_CHUNK_THRESHOLD, before chunking existed), and a 1 GiB file changed by an
// append, an insertion and an overwrite: bytes stored and time, beside restic when it is installed.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { keystream } from './corpus.js';
import { insertAt, writeAt } from './edits.js';
import { type Measured, freshBt, measure, measureAll } from './measure.js';

/** Larger than any file: bt stores everything whole, as before chunking. */
const WHOLE = String(2 ** 50);

export interface FirstBackup {
  readonly chunked: Measured;
  readonly whole: Measured;
}

export interface Change {
  readonly change: string;
  readonly bt: Measured;
  /** bytes_sent of `bt backup`, and how much the vault directory grew. */
  readonly btSent: number;
  readonly btGrowth: number;
  readonly restic?: Measured;
  /** restic's "Added to the repository" (data_added), and how much its repository grew. */
  readonly resticAdded?: number;
  readonly resticGrowth?: number;
}

export interface ChunkFigures {
  readonly corpusBytes: number;
  readonly first: FirstBackup;
  readonly fileBytes: number;
  readonly fileFirst: { readonly bt: Measured; readonly restic?: Measured };
  readonly changes: readonly Change[];
  /** The append case when large files were stored whole. */
  readonly appendWhole: { readonly bt: Measured; readonly sent: number };
}

const hasRestic = (): boolean => spawnSync('restic', ['version']).status === 0;

function treeBytes(dir: string): number {
  let n = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    n += e.isDirectory() ? treeBytes(p) : statSync(p).size;
  }
  return n;
}

/** A bt home for the benchmark: its own config, base dir and vault; `whole` stores large files whole. */
function home(root: string, cwd: string, whole: boolean): { bt: (...args: string[]) => Measured; vault: string } {
  rmSync(root, { recursive: true, force: true });
  return { bt: freshBt(root, cwd, { BT_CHUNK_THRESHOLD: whole ? WHOLE : undefined }), vault: join(root, 'bt', 'vault') };
}

/** `bt add . && bt backup` as one measured step; stdout is the backup's JSON. */
function addAndBackup(bt: (...args: string[]) => Measured): Measured {
  let backup = '';
  const m = measureAll([() => bt('add', '.', '--json'), () => {
    const b = bt('backup', '--json');
    backup = b.stdout;
    return b;
  }]);
  return { ...m, stdout: backup };
}
const sentOf = (m: Measured): number => (JSON.parse(m.stdout) as { bytes_sent: number }).bytes_sent;

/** First backup of `corpusDir`, chunked and whole, alternating for `rounds`; the best of each. */
function firstBackups(work: string, corpusDir: string, rounds: number): FirstBackup {
  const best = (a: Measured | undefined, b: Measured): Measured => (a && a.seconds <= b.seconds ? a : b);
  let chunked: Measured | undefined;
  let whole: Measured | undefined;
  for (let r = 0; r < rounds; r++) {
    for (const isWhole of [true, false]) {
      const root = join(work, isWhole ? 'first-whole' : 'first-chunked');
      const m = addAndBackup(home(root, corpusDir, isWhole).bt);
      rmSync(root, { recursive: true, force: true });
      if (isWhole) whole = best(whole, m);
      else chunked = best(chunked, m);
    }
  }
  return { chunked: chunked!, whole: whole! };
}

export function benchChunking(work: string, corpusDir: string, corpusBytes: number, bigFile: string, rounds = 2): ChunkFigures {
  const first = firstBackups(work, corpusDir, rounds);

  // One 1 GiB file, copied so the corpus stays as generated; bt and restic each back it up, then see it change.
  const src = join(work, 'chunk-src');
  rmSync(src, { recursive: true, force: true });
  mkdirSync(src, { recursive: true });
  const file = join(src, 'big.bin');
  copyFileSync(bigFile, file);
  const fileBytes = statSync(file).size;
  const h = home(join(work, 'chunk-bt'), src, false);
  const resticRepo = join(work, 'chunk-restic');
  rmSync(resticRepo, { recursive: true, force: true });
  const resticEnv = { ...process.env, RESTIC_PASSWORD: 'bench', RESTIC_REPOSITORY: resticRepo, RESTIC_CACHE_DIR: join(work, 'chunk-restic-cache') };
  const restic = hasRestic() ? (...args: string[]): Measured => measure('restic', args, { cwd: src, env: resticEnv }) : undefined;
  restic?.('init', '-q');
  const fileFirst = { bt: addAndBackup(h.bt), ...(restic ? { restic: restic('backup', '-q', '.') } : {}) };

  const changes: Change[] = [];
  const cases: [string, () => void][] = [
    ['append 1 KiB', () => writeAt(file, statSync(file).size, keystream(1, 1024))],
    ['insert 1 KiB in the middle', () => insertAt(file, Math.floor(fileBytes / 2) + 12_345, keystream(2, 1024))],
    ['overwrite 4 KiB in place', () => writeAt(file, Math.floor(fileBytes * 0.7) + 999, keystream(3, 4096))],
  ];
  for (const [change, apply] of cases) {
    apply();
    const vaultBefore = treeBytes(h.vault);
    const bt = addAndBackup(h.bt);
    const figures: Change = { change, bt, btSent: sentOf(bt), btGrowth: treeBytes(h.vault) - vaultBefore };
    if (restic) {
      const repoBefore = treeBytes(resticRepo);
      const r = restic('backup', '--json', '.');
      const summary = r.stdout.split('\n').filter((l) => l.includes('"message_type":"summary"')).pop() ?? '{}';
      const added = (JSON.parse(summary) as { data_added?: number }).data_added;
      changes.push({ ...figures, restic: r, ...(added === undefined ? {} : { resticAdded: added }), resticGrowth: treeBytes(resticRepo) - repoBefore });
    } else {
      changes.push(figures);
    }
  }
  rmSync(join(work, 'chunk-bt'), { recursive: true, force: true });
  rmSync(resticRepo, { recursive: true, force: true });

  // Before chunking: the same append stores the whole file again.
  copyFileSync(bigFile, file);
  const before = home(join(work, 'chunk-whole'), src, true);
  addAndBackup(before.bt);
  writeAt(file, statSync(file).size, keystream(1, 1024));
  const appendBt = addAndBackup(before.bt);
  const appendWhole = { bt: appendBt, sent: sentOf(appendBt) };
  rmSync(join(work, 'chunk-whole'), { recursive: true, force: true });
  rmSync(src, { recursive: true, force: true });
  return { corpusBytes, first, fileBytes, fileFirst, changes, appendWhole };
}
