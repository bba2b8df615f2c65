// Two machines with one host id syncing at once: a metadata key is taken whole by one writer, the other is
// refused; segments of two histories side by side are named as such, not as a gap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeFileExclusive } from '../../src/fs/atomic.js';
import { segmentKey } from '../../src/events/segment.js';
import { listSegments } from '../../src/service/journal-sync.js';
import { FileSystemVault } from '../../src/vaults/fs-vault.js';
import { tempDir } from '../support/tmp.js';

test('writeFileExclusive: of writers racing for one name exactly one wins, whole; no temporary is left', async () => {
  const dir = tempDir('bt-exclusive');
  for (let round = 0; round < 20; round++) {
    const path = join(dir, `key-${round}`);
    const bodies = Array.from({ length: 4 }, (_, i) => Buffer.alloc(64 * 1024, i + 1));
    const won = await Promise.all(bodies.map((b) => writeFileExclusive(path, b)));
    assert.is(won.filter(Boolean).length, 1, `round ${round}`);
    assert.ok(readFileSync(path).equals(bodies[won.indexOf(true)]!));
  }
  assert.equal(readdirSync(dir).filter((n) => n.includes('bt-tmp')), []);
});

test('writeFileExclusive on a filesystem without hard links: written when the name is free, refused when taken, no temporary left', async () => {
  const dir = tempDir('bt-exclusive-nolink');
  for (const code of ['EPERM', 'ENOTSUP', 'ENOSYS', 'EXDEV']) {
    const noLinks = async (): Promise<void> => {
      throw Object.assign(new Error(`link: ${code}`), { code });
    };
    const path = join(dir, `key-${code}`);
    assert.is(await writeFileExclusive(path, Buffer.from('first'), 0o600, noLinks), true, code);
    assert.is(await writeFileExclusive(path, Buffer.from('second'), 0o600, noLinks), false, code);
    assert.is(readFileSync(path, 'utf8'), 'first');
  }
  const other = async (): Promise<void> => {
    throw Object.assign(new Error('link: EIO'), { code: 'EIO' });
  };
  await writeFileExclusive(join(dir, 'key-eio'), Buffer.from('x'), 0o600, other).then(() => assert.unreachable('an I/O error is not "no links"'), (err: Error) => assert.match(err.message, /EIO/));
  assert.equal(readdirSync(dir).filter((n) => n.includes('bt-tmp')), []);
});

test('two vault handles putting one metadata key with other bytes at once: one is refused', async () => {
  const root = join(tempDir('bt-race-vault'), 'vault');
  const a = new FileSystemVault('v', root);
  await a.validateSetup();
  const b = new FileSystemVault('v', root);
  const key = segmentKey('01HZZZZZZZZZZZZZZZZZZZZZZZ', 5, 6);
  const outcomes = await Promise.allSettled([a.putMetadata(key, Buffer.from('history of machine A')), b.putMetadata(key, Buffer.from('history of machine B'))]);
  assert.equal(outcomes.map((o) => o.status).sort(), ['fulfilled', 'rejected']);
  const refused = outcomes.find((o) => o.status === 'rejected') as PromiseRejectedResult;
  assert.match((refused.reason as Error).message, /exists with other bytes; refusing to overwrite it/);
  const kept = (await a.getMetadata(key)).toString();
  assert.ok(kept === 'history of machine A' || kept === 'history of machine B');
  assert.equal(readdirSync(dirname(join(root, 'metadata', key))).filter((n) => n.includes('bt-tmp')), []);
});

test('segments of two histories side by side are said to come from two machines with one host id', async () => {
  const root = join(tempDir('bt-race-list'), 'vault');
  const v = new FileSystemVault('v', root);
  await v.validateSetup();
  const host = '01HZZZZZZZZZZZZZZZZZZZZZZZ';
  for (const [from, to] of [[1, 4], [5, 6], [5, 7]] as const) await v.putMetadata(segmentKey(host, from, to), Buffer.from(`${from}-${to}`));
  const err = await listSegments(v, host).then(() => undefined, (e: Error) => e);
  assert.ok(err);
  assert.match(err.message, new RegExp(`two journal segments of host ${host} hold events from 5 on \\(.*0+5-0+6\\.ndjson\\.gz and .*0+5-0+7\\.ndjson\\.gz\\): two machines have been using this host id`));
});

test.run();
