// `npm run bench`: bt's benchmark on its own deterministic data; prints one table.
// Sections: journal (append, rebuild). BT_BENCH_ONLY=journal runs one section.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchJournal } from './journal.js';

interface Row {
  readonly section: string;
  readonly measure: string;
  readonly value: string;
  readonly note: string;
}

const only = process.env.BT_BENCH_ONLY;
const rows: Row[] = [];
const work = mkdtempSync(join(tmpdir(), 'bt-bench-'));

try {
  if (!only || only === 'journal') {
    const appendCount = Number(process.env.BT_BENCH_APPEND ?? 100_000);
    const rebuildCount = Number(process.env.BT_BENCH_REBUILD ?? 1_000_000);
    const j = benchJournal(work, appendCount, rebuildCount);
    rows.push({
      section: 'journal',
      measure: `append ${j.appendEvents} FileStaged (batches of 5000)`,
      value: `${Math.round(j.appendEvents / j.appendSeconds)} events/s`,
      note: `${j.appendSeconds.toFixed(2)} s; target >= 100000 events/s`,
    });
    rows.push({
      section: 'journal',
      measure: `rebuild all projections from ${j.rebuildEvents} events`,
      value: `${j.rebuildSeconds.toFixed(2)} s`,
      note: `${Math.round(j.rebuildEvents / j.rebuildSeconds)} events/s; target < 10 s for 1,000,000`,
    });
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const widths = [8, 48, 18];
const pad = (s: string, n: number): string => (s.length >= n ? s : s + ' '.repeat(n - s.length));
console.log(`${pad('section', widths[0]!)}  ${pad('measure', widths[1]!)}  ${pad('value', widths[2]!)}  note`);
for (const r of rows) console.log(`${pad(r.section, widths[0]!)}  ${pad(r.measure, widths[1]!)}  ${pad(r.value, widths[2]!)}  ${r.note}`);
