// `bt add` merges its walk with the tracked files read in pages: both must come in one order, SQLite's.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { IgnoreRules } from '../../src/fs/ignore-rules.js';
import { compareNames } from '../../src/fs/paths.js';
import { walk } from '../../src/fs/walk.js';
import type { NamedTrackedFile } from '../../src/projections/queries.js';
import { KnownFiles } from '../../src/service/known-files.js';
import { staged, tracked } from '../support/events.js';
import { Random } from '../support/random.js';
import { tempStore } from '../support/store.js';
import { tempDir } from '../support/tmp.js';

// Around '/', and code points whose UTF-16 order differs from their UTF-8 order (U+FF61 vs U+1F600).
const NAMES = ['a', 'a b', 'a-b', 'a.b', 'a/x', 'a/y/z', 'a0', 'b', 'b/a', 'é', '\uff61', '\u{1f600}', '\u{1f600}/x', 'z'];
const utf8Order = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

test('compareNames orders as UTF-8 bytes do (SQLite BINARY), not as UTF-16 units', () => {
  assert.ok('\u{1f600}' < '\uff61', 'UTF-16 puts the emoji first');
  assert.ok(compareNames('\u{1f600}', '\uff61') > 0);
  const rnd = new Random(7);
  const alphabet = ['a', 'b', '/', ' ', '.', '0', 'é', '\ue000', '\uffff', '\u{10000}', '\u{1f600}', '\u{10ffff}'];
  for (let i = 0; i < 2000; i++) {
    const word = (): string => Array.from({ length: rnd.int(4) }, () => rnd.pick(alphabet)).join('');
    const [a, b] = [word(), word()];
    assert.is(Math.sign(compareNames(a, b)), Math.sign(utf8Order(a, b)), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
  }
});

test('a walk yields names in the order SQLite sorts them', () => {
  const root = tempDir('bt-walk-order');
  for (const name of NAMES) {
    mkdirSync(join(root, name, '..'), { recursive: true });
    // `a` and `b` are directories here (they hold files); the rest are files.
    if (!NAMES.some((n) => n.startsWith(`${name}/`))) writeFileSync(join(root, name), name);
  }
  const walked = [...walk({ root, start: '', rules: IgnoreRules.global([]), exclude: new Set(), notice: () => {} })].map((e) => e.name);
  const files = NAMES.filter((n) => !NAMES.some((m) => m.startsWith(`${n}/`)));
  assert.equal(walked, [...files].sort(utf8Order));
});

function storeWithFiles(): { store: ReturnType<typeof tempStore>['store']; ids: Map<string, string> } {
  const { store } = tempStore();
  const dir = tracked('/t');
  store.append([dir]);
  const ids = new Map<string, string>();
  for (const name of NAMES) {
    const s = staged(dir.data.directory_id, name);
    store.append([s]);
    ids.set(name, s.data.file_id);
  }
  return { store, ids };
}

test('the cursor matches walked names, hands over the ones walked past, and pages by SQLite order', () => {
  const { store, ids } = storeWithFiles();
  const dir = store.queries.findDirectoryByPath('/t')!;
  const sorted = [...NAMES].sort(utf8Order);
  for (const pageSize of [1, 2, 3, 1000]) {
    // Walk every other name: the rest are passed, in order, each once.
    const walked = sorted.filter((_, i) => i % 2 === 0);
    const passed: string[] = [];
    const known = new KnownFiles(store.queries, dir, '', (f: NamedTrackedFile) => passed.push(f.name), pageSize);
    assert.not.ok(known.isEmpty());
    for (const name of walked) assert.is(known.lookup(name)?.fileId, ids.get(name), `${name}, pages of ${pageSize}`);
    assert.is(known.lookup('zz-new'), undefined);
    known.finish();
    assert.equal(passed, sorted.filter((_, i) => i % 2 === 1), `pages of ${pageSize}`);
    // A subtree: only its names, the one named like it first.
    const inA: string[] = [];
    const underA = new KnownFiles(store.queries, dir, 'a', (f) => inA.push(f.name), pageSize);
    assert.is(underA.lookup('a/y/z')?.fileId, ids.get('a/y/z'));
    underA.finish();
    assert.equal(inA, ['a', 'a/x'], `pages of ${pageSize}`);
  }
  assert.ok(new KnownFiles(store.queries, dir, 'nothing-here', () => {}).isEmpty());
});

test('names out of order stop the merge but still find every record; every record not walked is passed once', () => {
  const { store, ids } = storeWithFiles();
  const dir = store.queries.findDirectoryByPath('/t')!;
  for (const pageSize of [1, 2, 1000]) {
    const passed: string[] = [];
    const known = new KnownFiles(store.queries, dir, '', (f) => passed.push(f.name), pageSize);
    const order = ['b', 'a', 'z', '\uff61', 'a/x'];
    for (const name of order) assert.is(known.lookup(name)?.fileId, ids.get(name), `${name}, pages of ${pageSize}`);
    known.finish();
    // (A record passed before the disorder showed may be found later too: the caller checks it is gone.)
    for (const name of NAMES.filter((n) => !order.includes(n))) assert.ok(passed.includes(name), `${name}, pages of ${pageSize}`);
    assert.is(new Set(passed).size, passed.length);
    assert.not.ok(passed.includes('z') || passed.includes('\uff61'), 'found after the merge stopped: not passed');
  }
});

test('hasLiveFilesUnder: a subtree with a staged or current file that is not recorded deleted', () => {
  const { store, ids } = storeWithFiles();
  const dir = store.queries.findDirectoryByPath('/t')!;
  assert.ok(store.queries.hasLiveFilesUnder(dir, 'a'));
  assert.ok(store.queries.hasLiveFilesUnder(dir, 'a/y'));
  assert.not.ok(store.queries.hasLiveFilesUnder(dir, 'a/q'));
  assert.not.ok(store.queries.hasLiveFilesUnder(dir, 'nothing'));
  store.append(['b', 'b/a'].map((name) => ({ type: 'FileDeleted' as const, data: { file_id: ids.get(name)!, directory_id: dir.id, name } })));
  assert.not.ok(store.queries.hasLiveFilesUnder(dir, 'b'), 'every file under b is recorded deleted');
  assert.ok(store.queries.hasLiveFilesUnder(dir, ''));
});

test.run();
