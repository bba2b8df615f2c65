// What a walk keeps must not grow with the tree: ignore answers and the staging sweep work a page at a time.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IgnoreRules } from '../../src/fs/ignore-rules.js';
import { moveOlderStagedCopies, removeOrphanStagedCopies, stagedCopyPath } from '../../src/service/staging-area.js';
import { newId, staged, tracked } from '../support/events.js';
import { tempStore } from '../support/store.js';
import { tempDir } from '../support/tmp.js';
import { restoreTmpPath } from '../../src/fs/restore-file.js';

test('ignore answers stay the same when the matcher is renewed (every 4096 tests)', () => {
  const root = tempDir('bt-ignore');
  mkdirSync(join(root, 'sub'));
  writeFileSync(join(root, 'sub', '.btignore'), '!keep.log\n*.tmp\n');
  const top = IgnoreRules.global(['*.log', 'build/']);
  const sub = top.enter('sub', join(root, 'sub'));
  for (let i = 0; i < 10_000; i++) {
    assert.is(top.ignores(`f${i}.log`, false), true, `f${i}.log`);
    assert.is(top.ignores(`f${i}.txt`, false), false, `f${i}.txt`);
    assert.is(top.ignores('build', true), true, 'build/');
    assert.is(top.ignores('build', false), false, 'a file named build');
    assert.is(sub.ignores('sub/keep.log', false), false, 're-included below');
    assert.is(sub.ignores(`sub/x${i}.log`, false), true, `sub/x${i}.log`);
    assert.is(sub.ignores(`sub/x${i}.tmp`, false), true, `sub/x${i}.tmp`);
  }
});

test('the staging sweep removes the copies of stages the queue does not know, over several pages of names, leaves what bt did not name, and moves copies of an older layout into their buckets', () => {
  const { store } = tempStore();
  const dir = tracked('/t');
  store.append([dir]);
  const stagingDir = tempDir('bt-staging');
  const live = new Set<string>();
  for (let i = 0; i < 1500; i++) {
    const e = staged(dir.data.directory_id, `f${i}`);
    store.append([e]);
    const id = e.data.stage_id;
    live.add(id);
    // A third where a bt before the buckets left them, at the top of the area.
    if (i % 3 === 0) writeFileSync(join(stagingDir, id), `staged ${id}`);
    else {
      mkdirSync(dirname(stagedCopyPath(stagingDir, id)), { recursive: true });
      writeFileSync(stagedCopyPath(stagingDir, id), `staged ${id}`);
    }
  }
  // Orphans: copies of stages no longer queued (named by stage ids), at the top and inside a bucket.
  for (let i = 0; i < 1200; i++) writeFileSync(join(stagingDir, newId()), 'orphan');
  const orphanChunks = join(stagingDir, newId());
  mkdirSync(orphanChunks);
  writeFileSync(join(orphanChunks, 'c1'), 'chunk');
  // A killed catch-up's copy and its chunk directory (named like a restore's temporaries).
  writeFileSync(restoreTmpPath(join(stagingDir, 'catch-up')), 'fetched');
  const killedChunks = restoreTmpPath(join(stagingDir, 'catch-up'));
  mkdirSync(killedChunks);
  writeFileSync(join(killedChunks, 'c1'), 'chunk');
  const bucket = dirname(stagedCopyPath(stagingDir, [...live][1]!));
  for (let i = 0; i < 1100; i++) writeFileSync(join(bucket, newId()), 'orphan');
  // Not named like a stage: not bt's, whatever the staging directory was pointed at.
  const foreign = ['u', 'notes.txt', 'leftover-1'];
  for (const name of foreign) writeFileSync(join(stagingDir, name), 'not bt\'s');
  writeFileSync(join(bucket, 'killed-1'), 'not bt\'s');

  assert.is(removeOrphanStagedCopies(stagingDir, store.queries), 1200 + 1 + 2 + 1100);
  for (const name of foreign) assert.is(readFileSync(join(stagingDir, name), 'utf8'), 'not bt\'s');
  assert.is(readFileSync(join(bucket, 'killed-1'), 'utf8'), 'not bt\'s');
  const buckets = readdirSync(stagingDir).filter((b) => !foreign.includes(b));
  assert.ok(buckets.every((b) => b.length === 1 && statSync(join(stagingDir, b)).isDirectory()), buckets.join(' '));
  const kept = new Set(buckets.flatMap((b) => readdirSync(join(stagingDir, b))));
  kept.delete('killed-1');
  assert.equal(kept, live);
  for (const id of live) assert.is(readFileSync(stagedCopyPath(stagingDir, id), 'utf8'), `staged ${id}`);
  assert.is(removeOrphanStagedCopies(stagingDir, store.queries), 0, 'a second sweep finds nothing');
  assert.is(removeOrphanStagedCopies(join(stagingDir, 'missing'), store.queries), 0, 'no staging area yet');
});

test('the move before check repairs and recover: queued copies of the older layout go into their buckets, nothing is removed', () => {
  const { store } = tempStore();
  const dir = tracked('/t');
  store.append([dir]);
  const stagingDir = tempDir('bt-staging-move');
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) {
    const e = staged(dir.data.directory_id, `f${i}`);
    store.append([e]);
    ids.push(e.data.stage_id);
    writeFileSync(join(stagingDir, e.data.stage_id), `staged ${i}`);
  }
  writeFileSync(join(stagingDir, 'not-queued'), 'left alone');
  // A stray file where a bucket must go gives way (no stage id is one character long).
  writeFileSync(join(stagingDir, ids[0]!.slice(-1)), 'stray');
  moveOlderStagedCopies(stagingDir, store.queries);
  ids.forEach((id, i) => assert.is(readFileSync(stagedCopyPath(stagingDir, id), 'utf8'), `staged ${i}`));
  assert.is(readFileSync(join(stagingDir, 'not-queued'), 'utf8'), 'left alone');
  assert.ok(readdirSync(stagingDir).every((n) => n === 'not-queued' || (n.length === 1 && statSync(join(stagingDir, n)).isDirectory())));
});

test.run();
