import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nsToIso, nsToUtime, parseUserTime } from '../../src/core/time.js';
import { BtError } from '../../src/core/errors.js';

// The microsecond at or before ns: what a restore can give back (libuv's resolution).
const floorUs = (ns: bigint): bigint => (ns >= 0n ? (ns / 1000n) * 1000n : -((-ns + 999n) / 1000n) * 1000n);

test('nsToUtime sets every time to its microsecond exactly, before 1970 too', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-time-'));
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  const times = [
    1_735_689_600_123_456_789n, 1_234_567_890_999_999_999n, 1n, 0n, 999n, 1000n,
    -1n, -999n, -1000n, -1001n, -500_000_000n, -86_400_123_456_700n, -311_108_032_876_543_211n,
  ];
  try {
    for (const ns of times) {
      utimesSync(file, nsToUtime(String(ns)), nsToUtime(String(ns)));
      const st = statSync(file, { bigint: true });
      assert.is(st.mtimeNs, floorUs(ns), `mtime ${ns}`);
      assert.is(st.atimeNs, floorUs(ns), `atime ${ns}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nsToUtime is exact to the microsecond up to the year 2242 (2^33 s), as the README says', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-time-'));
  const file = join(dir, 'f');
  writeFileSync(file, 'x');
  try {
    // Just below 2^33 s, each with a different microsecond and nanosecond part.
    for (let i = 0; i < 200; i++) {
      const ns = (2n ** 33n - 1n - BigInt(i) * 86_400n) * 1_000_000_000n + BigInt((i * 7_919_993) % 1_000_000_000);
      utimesSync(file, nsToUtime(String(ns)), nsToUtime(String(ns)));
      assert.is(statSync(file, { bigint: true }).mtimeNs, floorUs(ns), `mtime ${ns}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nsToIso rounds times before 1970 down, like times after', () => {
  assert.is(nsToIso('-1'), '1969-12-31T23:59:59.999Z');
  assert.is(nsToIso('-311108032876543211'), '1960-02-22T05:06:07.123Z');
  assert.is(nsToIso('1735689600123456789'), '2025-01-01T00:00:00.123Z');
});

test('parseUserTime takes ISO 8601 dates and times only', () => {
  assert.is(parseUserTime('2026-11-23T14:30:00Z', '--at'), Date.UTC(2026, 10, 23, 14, 30));
  assert.is(parseUserTime('2026-11-23 14:30:00+01:00', '--at'), Date.UTC(2026, 10, 23, 13, 30));
  assert.is(parseUserTime('2026-11-23T14:30:00.250Z', '--at'), Date.UTC(2026, 10, 23, 14, 30, 0, 250));
  // A date alone is its last millisecond (local time): "as of that day".
  assert.is(parseUserTime('2026-11-23', '--at'), new Date(2026, 10, 23, 23, 59, 59, 999).getTime());
  // For --since, the day's first millisecond: "from that day on" takes in the whole day.
  assert.is(parseUserTime('2026-11-23', '--since', 'start'), new Date(2026, 10, 23, 0, 0, 0, 0).getTime());
  assert.is(parseUserTime('2024-02-29', '--at'), new Date(2024, 1, 29, 23, 59, 59, 999).getTime());
  // Days past a month's end are refused, not rolled over into the next month.
  for (const bad of ['0', '1732478000', 'yesterday', 'Nov 23 2026', '2026/11/23', '', '2026-02-30', '2026-02-29', '2026-04-31T10:00', '2026-13-01', '2026-00-10', '2026-11-00']) {
    assert.throws(() => parseUserTime(bad, '--at'), (e: unknown) => e instanceof BtError && e.message === `--at: cannot read "${bad}" as a time`, bad);
  }
});

test.run();
