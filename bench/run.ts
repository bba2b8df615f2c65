// `npm run bench`: bt's benchmark on its own deterministic data; prints one table.
// BT_BENCH_ONLY=journal,startup,small,large,huge,many,chunk,s3 picks sections; BT_BENCH_DIR keeps the generated corpora
// (default bench/.data, reused across runs: the bytes are the same every time).
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchChunking } from './chunk.js';
import { makeLargeCorpus, makeSmallCorpus } from './corpus.js';
import { benchJournal } from './journal.js';
import type { Measured } from './measure.js';
import { type WorkflowFigures, benchStartup, benchWorkflow } from './workflow.js';
import { benchHuge } from './huge.js';
import { benchMany } from './many.js';

// Node reads NODE_EXTRA_CA_CERTS at every start; this sandbox points it at the whole system bundle, which
// costs each node process ~40 ms (0.06 -> 0.10 s for `node -e ''`). No bench step uses TLS and few machines
// set it, so it is unset for the run (BT_BENCH_KEEP_CA=1 keeps it); the table says which.
const caNote = process.env.NODE_EXTRA_CA_CERTS === undefined ? 'not set' : process.env.BT_BENCH_KEEP_CA ? 'kept' : 'unset for this run';
if (!process.env.BT_BENCH_KEEP_CA) delete process.env.NODE_EXTRA_CA_CERTS;

const sections = new Set((process.env.BT_BENCH_ONLY ?? 'journal,startup,small,large,huge,many,chunk,s3').split(','));
const dataDir = process.env.BT_BENCH_DIR ?? fileURLToPath(new URL('./.data', import.meta.url));
mkdirSync(dataDir, { recursive: true });
const work = mkdtempSync(join(dataDir, 'run-'));
const lines: string[][] = [['section', 'measure', 'bt', 'ratio', 'reference']];
const row = (...cells: string[]): void => {
  lines.push(cells);
};
const s = (m: Measured): string => `${m.seconds.toFixed(2)} s, ${m.rssMiB.toFixed(0)} MiB`;
const x = (a: number, b: number): string => `${(a / b).toFixed(2)}x`;

function workflowRows(f: WorkflowFigures): void {
  const mb = f.bytes / 1e6;
  row(f.corpus, `ceiling: sha256sum ${f.files} files`, '', '', `${f.sha256sum.seconds.toFixed(2)} s (${(mb / f.sha256sum.seconds).toFixed(0)} MB/s)`);
  row(f.corpus, 'ceiling: cp -a', '', '', `${f.cp.seconds.toFixed(2)} s (${(mb / f.cp.seconds).toFixed(0)} MB/s)`);
  row(f.corpus, 'raw stream-hash-copy (node)', '', '', `${f.raw.seconds.toFixed(2)} s`);
  for (const st of f.steps) {
    const vsRestic = st.restic ? `${x(st.bt.seconds, st.restic.seconds)} restic` : 'restic absent';
    const ref = st.restic ? `restic ${s(st.restic)}` : '';
    row(f.corpus, st.step, s(st.bt), vsRestic, ref);
    if (st.runs) row(f.corpus, `${st.step}: every run`, '', '', st.runs);
    if (st.step === 'first backup') {
      row(f.corpus, 'first backup vs ceiling', '', `${x(st.bt.seconds, f.cp.seconds)} cp -a, ${x(st.bt.seconds, f.sha256sum.seconds)} sha256sum, ${x(st.bt.seconds, f.raw.seconds)} raw`, `${(mb / st.bt.seconds).toFixed(0)} MB/s, ${(f.files / st.bt.seconds).toFixed(0)} files/s`);
    }
  }
}

try {
  if (sections.has('journal')) {
    const j = benchJournal(work, Number(process.env.BT_BENCH_APPEND ?? 100_000), Number(process.env.BT_BENCH_REBUILD ?? 1_000_000));
    row('journal', `append ${j.appendEvents} FileStaged, batches of 5000`, `${Math.round(j.appendEvents / j.appendSeconds)} events/s`, '', 'target >= 100000 events/s');
    const perSecond = (seconds: number): string => `${Math.round(j.appendEvents / seconds)} rows/s`;
    row('journal', 'ceiling: SQLite alone, the same journal rows', '', `bt takes ${x(j.appendSeconds, j.ceiling.journalOnly)}`, perSecond(j.ceiling.journalOnly));
    row('journal', 'ceiling: SQLite alone, journal and projection rows', '', `bt takes ${x(j.appendSeconds, j.ceiling.withProjections)}`, perSecond(j.ceiling.withProjections));
    row('journal', `rebuild from ${j.rebuildEvents} events`, `${j.rebuildSeconds.toFixed(2)} s`, `${Math.round(j.rebuildEvents / j.rebuildSeconds)} events/s`, 'target < 10 s for 1,000,000');
  }
  if (sections.has('startup')) {
    const st = benchStartup();
    row('startup', 'bt --version (best of 15)', `${st.bt.toFixed(0)} ms`, `+${(st.bt - st.node).toFixed(0)} ms`, `node -e '' ${st.node.toFixed(0)} ms; target within 50 ms`);
  }
  if (sections.has('small')) {
    const dir = join(dataDir, 'small');
    const c = makeSmallCorpus(dir);
    workflowRows(benchWorkflow(work, { name: 'small', dir, ...c, change: 'd00/s0/f00000.dat', restoreOne: 'd05/s3/f05300.dat', restoreTree: true }));
  }
  if (sections.has('large')) {
    const dir = join(dataDir, 'large');
    const c = makeLargeCorpus(dir);
    workflowRows(benchWorkflow(work, { name: 'large', dir, ...c, change: 'two.bin', restoreOne: 'one.bin', restoreTree: false }));
  }
  if (sections.has('huge')) {
    const h = benchHuge(work);
    const gib = h.bytes / 1024 ** 3;
    row('huge', `add of one ${gib} GiB sparse file`, `${h.add.seconds.toFixed(2)} s, ${h.add.rssMiB.toFixed(0)} MiB`, '', 'peak RSS must not grow with file size (target < 150 MiB)');
    row('huge', `backup of it`, `${h.backup.seconds.toFixed(2)} s, ${h.backup.rssMiB.toFixed(0)} MiB`, '', '');
  }
  if (sections.has('many')) {
    const m = benchMany(work, dataDir);
    row('many', `first add of ${m.files} tiny files`, s(m.firstAdd), `${(m.files / m.firstAdd.seconds).toFixed(0)} files/s`, 'the tracked files are read in pages: memory must not grow with the tree');
    row('many', 'add with nothing changed', s(m.noChangeAdd), `${(m.files / m.noChangeAdd.seconds).toFixed(0)} files/s`, 'target < 150 MiB');
  }
  if (sections.has('chunk')) {
    const dir = join(dataDir, 'large');
    const c = makeLargeCorpus(dir);
    const f = benchChunking(work, dir, c.bytes, join(dir, 'two.bin'));
    const mib = (b: number): string => `${(b / 2 ** 20).toFixed(2)} MiB`;
    const t = (m: Measured): string => `${m.seconds.toFixed(2)} s`;
    row('chunk', `first backup, large corpus (${(c.bytes / 2 ** 30).toFixed(0)} GiB), chunked`, s(f.first.chunked), `${x(f.first.chunked.seconds, f.first.whole.seconds)} whole`, `stored whole (before chunking): ${s(f.first.whole)}; target <= 1.20x`);
    row('chunk', `${mib(f.fileBytes)} file: first backup`, s(f.fileFirst.bt), f.fileFirst.restic ? `${x(f.fileFirst.bt.seconds, f.fileFirst.restic.seconds)} restic` : 'restic absent', f.fileFirst.restic ? `restic ${s(f.fileFirst.restic)}` : '');
    for (const ch of f.changes) {
      const ref = ch.restic
        ? `restic: added ${ch.resticAdded === undefined ? '?' : mib(ch.resticAdded)}, repo +${mib(ch.resticGrowth ?? 0)}, ${t(ch.restic)}`
        : 'restic absent';
      row('chunk', `${ch.change}: stored, time`, `${mib(ch.btSent)} sent, vault +${mib(ch.btGrowth)}, ${t(ch.bt)}`, ch.restic ? `${x(ch.bt.seconds, ch.restic.seconds)} restic` : '', ref);
    }
    row('chunk', 'append 1 KiB, stored whole (before chunking)', `${mib(f.appendWhole.sent)} sent, ${t(f.appendWhole.bt)}`, '', '');
  }
  if (sections.has('s3')) {
    try {
      const s3Module = './s3.js'; // written by the S3 work; absent before it lands
      const mod = (await import(s3Module)) as { benchS3?: (dir: string) => Promise<Record<string, number>> };
      if (mod.benchS3) {
        const figures = await mod.benchS3(join(work, 's3'));
        for (const [k, v] of Object.entries(figures)) row('s3', k, v.toFixed(2), '', '');
      }
    } catch (err) {
      row('s3', 'skipped', '', '', (err as Error).message.split('\n')[0] ?? '');
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

row('env', 'NODE_EXTRA_CA_CERTS', caNote, '', 'node reads that bundle at every start (~40 ms per process here)');
const widths = lines[0]!.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? '').length)));
for (const l of lines) console.log(l.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
