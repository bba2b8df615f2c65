// Rebuild equals live: random workflows through the real use cases, then drop-and-replay must give
// the same projection rows. The seed of a failing sequence is printed to replay it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { rebuildProjections } from '../../src/projections/rebuild.js';
import { backup } from '../../src/service/backup.js';
import { stageFiles } from '../../src/service/stage-files.js';
import { trackDirectory } from '../../src/service/track-directory.js';
import type { Context } from '../../src/service/context.js';
import { testHost } from '../support/host.js';
import { dumpProjections } from '../support/projection-dump.js';
import { Random } from '../support/random.js';

// Worker threads here do not load TypeScript: the reader runs from the build (`npm test` builds first).
const replayWorker = new URL('../../dist/replay-worker.js', import.meta.url);
const SEQUENCES = Number(process.env.BT_PROPERTY_SEQUENCES ?? 200);
const STEPS = 30;
const NAMES = ['a', 'b', 'c.txt', 'd/e', 'd/f', 'd/g/h', 'k/l', 'k/m/n'];

async function randomStep(ctx: Context, rnd: Random, work: string): Promise<string> {
  const name = rnd.pick(NAMES);
  const path = join(work, name);
  // Weights: writes 30%, delete 8%, chmod 8%, symlink 6%, dir init 8%, add 25%, backup 15%.
  const roll = rnd.int(100);
  const op = roll < 30 ? 0 : roll < 38 ? 2 : roll < 46 ? 3 : roll < 52 ? 4 : roll < 60 ? 5 : roll < 85 ? 6 : 8;
  switch (op) {
    case 0: {
      mkdirSync(join(path, '..'), { recursive: true });
      rmSync(path, { force: true, recursive: true });
      // Few distinct contents, so dedup happens often.
      writeFileSync(path, `content ${rnd.int(4)}\n`.repeat(1 + rnd.int(3)));
      return `write ${name}`;
    }
    case 2:
      rmSync(path, { force: true, recursive: true });
      return `delete ${name}`;
    case 3: {
      // A directory now and then: its recorded metadata is a projection too (kept writable for the next steps).
      const dir = rnd.int(3) === 0 ? rnd.pick(['d', 'k', 'd/g', 'k/m']) : undefined;
      try {
        if (dir === undefined) chmodSync(path, rnd.pick([0o600, 0o644, 0o755]));
        else chmodSync(join(work, dir), rnd.pick([0o700, 0o750, 0o755]));
      } catch {
        /* not there */
      }
      return `chmod ${dir ?? name}`;
    }
    case 4:
      mkdirSync(join(path, '..'), { recursive: true });
      rmSync(path, { force: true, recursive: true });
      symlinkSync(rnd.pick(['a', '../x', '/etc/hostname']), path);
      return `symlink ${name}`;
    case 5: {
      const dir = rnd.pick(['', 'd', 'k', 'd/g', 'k/m']);
      const abs = dir === '' ? work : join(work, dir);
      mkdirSync(abs, { recursive: true });
      return `dir init ${dir || '.'} -> ${trackDirectory(ctx, abs).status}`;
    }
    case 6: {
      const under = rnd.pick(['', 'd', 'k', name]);
      const abs = under === '' ? work : join(work, under);
      try {
        await stageFiles(ctx, abs);
        return `add ${under || '.'}`;
      } catch (err) {
        return `add ${under || '.'} failed: ${(err as Error).message}`;
      }
    }
    default: {
      const r = await backup(ctx);
      return `backup -> ${r.files}`;
    }
  }
}

test(`rebuilt projections equal live ones after ${SEQUENCES} random workflows`, async () => {
  // Without the build's reader the off-thread rebuilds below would quietly run in-thread.
  assert.ok(existsSync(fileURLToPath(replayWorker)), 'dist/replay-worker.js (npm test builds first)');
  const base = Number(process.env.BT_PROPERTY_SEED ?? 20261123);
  for (let i = 0; i < SEQUENCES; i++) {
    const seed = base + i;
    const rnd = new Random(seed);
    const host = await testHost('bt-prop');
    const work = join(host.root, 'work');
    mkdirSync(work, { recursive: true });
    const ctx = host.open();
    const steps: string[] = [];
    try {
      // Start inside a subdirectory half the time, so a later `dir init` of the parent absorbs it.
      const first = rnd.pick(['', 'd', 'k']);
      mkdirSync(join(work, first), { recursive: true });
      steps.push(`dir init ${first || '.'} -> ${trackDirectory(ctx, join(work, first)).status}`);
      for (let s = 0; s < STEPS; s++) steps.push(await randomStep(ctx, rnd, work));
      const live = dumpProjections(ctx.store.db);
      ctx.store.rebuild();
      const rebuilt = dumpProjections(ctx.store.db);
      assert.equal(rebuilt, live, `seed ${seed}: ${steps.join('; ')}`);
      // A large journal's rebuild reads it on a worker thread: that path too, every fourth workflow.
      if (i % 4 === 0) {
        rebuildProjections(ctx.store.db, ctx.store.journal, undefined, { script: replayWorker, minEvents: 0 });
        assert.equal(dumpProjections(ctx.store.db), live, `seed ${seed} (read off-thread): ${steps.join('; ')}`);
      }
      assert.ok(ctx.store.journal.verifyChain().ok, `seed ${seed}: chain`);
    } finally {
      ctx.close();
      rmSync(host.root, { recursive: true, force: true });
    }
  }
});

test.run();
