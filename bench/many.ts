// Many files: memory of `bt add` must not grow with the number of files a tree holds (issue #6).
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Measured, freshBt } from './measure.js';

export interface ManyFigures {
  readonly files: number;
  readonly firstAdd: Measured;
  readonly noChangeAdd: Measured;
}

/** `count` tiny files in directories of 1,000, made once under `dataDir` (same bytes every run). */
function makeManyCorpus(dataDir: string, count: number): string {
  const dir = join(dataDir, `many-${count}`);
  const done = join(dir, '.complete');
  if (existsSync(done)) return dir;
  rmSync(dir, { recursive: true, force: true });
  for (let i = 0; i < count; i++) {
    const sub = join(dir, `d${String(Math.floor(i / 1000)).padStart(4, '0')}`);
    if (i % 1000 === 0) mkdirSync(sub, { recursive: true });
    writeFileSync(join(sub, `f${i}.txt`), `file ${i}\n`);
  }
  writeFileSync(done, 'ok\n');
  return dir;
}

/** First `bt add` of the tree, then a no-change `bt add` (the scan alone); no backup (it adds a minute). */
export function benchMany(work: string, dataDir: string, count = 200_000): ManyFigures {
  const dir = makeManyCorpus(dataDir, count);
  const root = join(work, 'many');
  const bt = freshBt(root, dir);
  const firstAdd = bt('add', '.');
  const noChangeAdd = bt('add', '.');
  rmSync(root, { recursive: true, force: true });
  return { files: count, firstAdd, noChangeAdd };
}
