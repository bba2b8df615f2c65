// Journal segments (src/events/segment.ts): NDJSON of the rows as stored, gzipped; the encoder reuses one
// buffer from segment to segment, so a segment must hold exactly its own rows whatever came before.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { gunzipSync } from 'node:zlib';
import type { JournalRow } from '../../src/events/envelope.js';
import { decodeSegment, encodeSegment } from '../../src/events/segment.js';

const HOST = '01JBT0000000000000000HXST0';

function rows(first: number, count: number, name: string): JournalRow[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: first + i,
    id: `01JBT${String(first + i).padStart(21, '0')}`,
    type: 'FileStaged',
    version: 1,
    host_id: HOST,
    time: '2026-11-24T23:00:00.000Z',
    // Multi-byte UTF-8 and characters JSON escapes, inside a payload that is itself JSON.
    payload: JSON.stringify({ name: `${name} ${i}`, note: 'quote " backslash \\ newline \n' }),
    prev_hash: (first + i - 1).toString(16).padStart(64, '0'),
    hash: (first + i).toString(16).padStart(64, '0'),
  }));
}

const asLines = (rs: readonly JournalRow[]): string =>
  rs.map((r) => `${JSON.stringify({ seq: r.seq, id: r.id, type: r.type, version: r.version, host_id: r.host_id, time: r.time, payload: r.payload, prev_hash: r.prev_hash, hash: r.hash })}\n`).join('');

test('each segment holds exactly its rows, as NDJSON lines, after larger and smaller ones', () => {
  const segments = [rows(1, 3000, 'naïve 日本語 😀'), rows(3001, 2, 'ascii'), rows(3003, 5000, 'é'), rows(8003, 1, 'x'), rows(8004, 0, '')];
  for (const rs of segments) {
    const data = encodeSegment(rs);
    assert.is(gunzipSync(data).toString('utf8'), asLines(rs), `${rs.length} rows`);
    if (rs.length === 0) continue;
    const name = { key: 'k', first: rs[0]!.seq, last: rs[rs.length - 1]!.seq };
    assert.equal(decodeSegment(name, data), rs);
  }
});

test.run();
