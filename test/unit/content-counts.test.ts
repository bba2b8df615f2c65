import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { DomainEvent } from '../../src/events/codecs.js';
import { sha } from '../support/events.js';
import { tempStore } from '../support/store.js';

const stored = (content: string, vault: string): DomainEvent => ({
  type: 'ContentStored',
  data: { content_id: sha(content), vault, size: content.length, sent: content.length, chunks: null },
});

test('how many contents a vault lacks is kept by the projection, and a rebuild gives the same counts', () => {
  const { store } = tempStore();
  const q = store.queries;
  assert.equal([q.contentsLacking('local'), q.contentsLacking('usb')], [0, 0], 'nothing stored anywhere');
  store.append([stored('a', 'local'), stored('b', 'local'), stored('b', 'usb')]);
  // Stored again in a vault that holds it: counted once.
  store.append([stored('a', 'local')]);
  assert.equal([q.contentsLacking('local'), q.contentsLacking('usb'), q.contentsLacking('never')], [0, 1, 2]);
  assert.equal(q.contentsNotIn('usb', '', 10).map((c) => c.id), [sha('a')]);
  const counts = store.db.prepare('SELECT vault, contents FROM content_counts ORDER BY vault').all();
  store.rebuild();
  assert.equal(store.db.prepare('SELECT vault, contents FROM content_counts ORDER BY vault').all(), counts);
  assert.equal(counts, [{ vault: '', contents: 2 }, { vault: 'local', contents: 2 }, { vault: 'usb', contents: 1 }]);
  store.append([stored('a', 'usb')]);
  assert.is(q.contentsLacking('usb'), 0);
  store.close();
});

test.run();
