// The stat-only scan compares a key written from lstat with one the projections wrote from snapshot
// metadata: the two writers must agree on every field, or every file would look changed (or none would).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { chmodSync, lstatSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { metaFromStat, sameStat, statKeyTextOf } from '../../src/fs/meta.js';
import { statKeyText } from '../../src/projections/stat-key.js';
import { tempDir } from '../support/tmp.js';

test('the key written from a stat equals the key written from its snapshot metadata, and tells each field apart', () => {
  const d = tempDir('bt-stat-key');
  const file = join(d, 'f.txt');
  writeFileSync(file, 'twelve bytes');
  chmodSync(file, 0o4751);
  // A time with nanoseconds set, below what a double in milliseconds can hold.
  utimesSync(file, 1_700_000_000.123456, 1_700_000_000.987654);
  const link = join(d, 'l');
  symlinkSync('f.txt', link);
  for (const path of [file, link]) {
    const st = lstatSync(path, { bigint: true });
    const key = statKeyText(metaFromStat(st, null));
    assert.is(statKeyTextOf(st), key, path);
    assert.ok(sameStat(st, key));
  }
  const st = lstatSync(file, { bigint: true });
  const m = metaFromStat(st, null);
  assert.is(statKeyText(m), `file 12 ${0o4751} ${st.mtimeNs} ${st.ctimeNs} ${st.ino}`);
  for (const changed of [
    { ...m, size: 13 }, { ...m, mode: 0o751 }, { ...m, mtime_ns: `${st.mtimeNs + 1n}` }, { ...m, ctime_ns: `${st.ctimeNs - 1n}` },
    { ...m, ino: `${st.ino + 1n}` }, { ...m, kind: 'symlink' as const },
  ]) {
    assert.not.ok(sameStat(st, statKeyText(changed)), JSON.stringify(changed));
  }
});

test.run();
