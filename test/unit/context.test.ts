// The context: what the vaults learnt while the host lock was held is forgotten with it; they are opened once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { testHost } from '../support/host.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');

test('a fan-out directory removed while the host lock was free is made again by the next put (no vault cache outlives the lock)', async () => {
  const host = await testHost('bt-context');
  const ctx = host.open();
  try {
    // Two contents whose objects share a fan-out directory.
    const first = 'object 0';
    let second = '';
    for (let i = 1; second === ''; i++) if (sha(`object ${i}`).slice(0, 2) === sha(first).slice(0, 2)) second = `object ${i}`;
    const put = async (body: string): Promise<void> => {
      const src = join(host.root, 'src');
      writeFileSync(src, body);
      const [vault] = await ctx.vaults();
      await vault!.putContent(sha(body), src, body.length);
      await vault!.flush();
    };
    await ctx.lockHost('test');
    const before = await ctx.vaults();
    await put(first);
    ctx.unlockHost();
    // Meanwhile another bt removes what it found wrong, the whole fan-out directory with it.
    const vaultRoot = host.config.vaults[0]!.type === 'fs' ? host.config.vaults[0]!.path : '';
    rmSync(join(vaultRoot, 'content', sha(first).slice(0, 2)), { recursive: true });
    await ctx.lockHost('test');
    assert.is((await ctx.vaults())[0], before[0], 'the same vault objects: an S3 client keeps its connections and credentials');
    await put(second);
    assert.is((await (await ctx.vaults())[0]!.hasContent(sha(second))), true);
  } finally {
    ctx.close();
  }
});

test('callers that ask for the vaults while they are being opened share one set', async () => {
  const host = await testHost('bt-context');
  const ctx = host.open();
  try {
    const [a, b] = await Promise.all([ctx.vaults(), ctx.vaults()]);
    assert.is(a, b);
    assert.is(await ctx.vaults(), a);
  } finally {
    ctx.close();
  }
});

test.run();
