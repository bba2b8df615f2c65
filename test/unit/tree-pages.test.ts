import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { newId, staged, tracked } from '../support/events.js';
import { tempStore } from '../support/store.js';

// Names that sort around '/': a tree restore reads them in pages after the last name seen.
const NAMES = ['a', 'a b', 'a-b', 'a.b', 'a/x', 'a/y/z', 'a0', 'b', 'b/a', 'é'];

function storeWithFiles(): ReturnType<typeof tempStore>['store'] {
  const { store } = tempStore();
  const dir = tracked('/t');
  store.append([dir]);
  for (const name of NAMES) {
    const s = staged(dir.data.directory_id, name);
    store.append([s]);
    store.append([{
      type: 'SnapshotCommitted',
      data: { snapshot_id: newId(), stage_id: s.data.stage_id, file_id: s.data.file_id, content_id: s.data.content_id, meta: s.data.meta, staged_at: '2026-01-01T00:00:00.000Z', stored: [] },
    }]);
  }
  return store;
}

test('versionsAsOf pages through a tree (or a subtree) once each, in name order, whatever the page size', () => {
  const store = storeWithFiles();
  const dir = store.queries.findDirectoryByPath('/t')!;
  const expect: Record<string, string[]> = {
    '': [...NAMES].sort(),
    a: ['a', 'a/x', 'a/y/z'],
    'a/y': ['a/y/z'],
    b: ['b', 'b/a'],
  };
  for (const [under, names] of Object.entries(expect)) {
    for (const limit of [1, 2, 3, 100]) {
      const seen: string[] = [];
      for (let after = '', page; (page = store.queries.versionsAsOf(dir, under, '2030-01-01T00:00:00.000Z', after, limit)).length > 0; after = page[page.length - 1]!.name) {
        assert.ok(page.length <= limit);
        seen.push(...page.map((v) => v.name));
      }
      assert.equal(seen, names, `under "${under}", pages of ${limit}`);
      const counted = [...store.queries.versionTimesAsOf(dir, under, '2030-01-01T00:00:00.000Z')].length;
      assert.is(counted, names.length, `count under "${under}"`);
    }
  }
  // Nothing staged by then: nothing to restore.
  assert.equal(store.queries.versionsAsOf(dir, '', '2025-01-01T00:00:00.000Z', '', 10), []);
  store.close();
});

test.run();
