// The journal reader of an off-thread replay (off-thread-replay.ts): reads pages of rows in one read
// transaction, decodes each event as an in-thread replay would, and posts the pages ahead of the apply steps.
import Database from 'better-sqlite3';
import { workerData } from 'node:worker_threads';
import { faultPoint } from '../core/fault.js';
import { REPLAY_PAGE_SQL, decodeReplayRow } from './journal.js';
import { CTL, PAGES_AHEAD, PAGE_ROWS, type ReplayPage, type ReplayWorkerData, forwardedError } from './off-thread-replay.js';
import { currentVersion } from './versions.js';

const { file, from, to, control, port } = workerData as ReplayWorkerData;
const ctl = new Int32Array(control);
// Its imports loaded: from here on every failure is posted as an error page.
Atomics.store(ctl, CTL.started, 1);
Atomics.notify(ctl, CTL.started);
let produced = 0;

const post = (page: ReplayPage): void => {
  port.postMessage(page);
  Atomics.store(ctl, CTL.produced, ++produced);
  Atomics.notify(ctl, CTL.produced);
};

/** Waits while the apply steps are PAGES_AHEAD pages behind; false once the replay was stopped. */
const mayGoOn = (): boolean => {
  for (;;) {
    if (Atomics.load(ctl, CTL.stop) !== 0) return false;
    const consumed = Atomics.load(ctl, CTL.consumed);
    if (produced - consumed < PAGES_AHEAD) return true;
    Atomics.wait(ctl, CTL.consumed, consumed, 1000);
  }
};

let db: Database.Database | undefined;
try {
  db = new Database(file, { readonly: true, fileMustExist: true });
  // One snapshot for the whole read.
  db.exec('BEGIN');
  const stmt = db.prepare(REPLAY_PAGE_SQL).raw(true);
  let next = from;
  while (mayGoOn()) {
    const rows = stmt.all(next, to, PAGE_ROWS) as unknown[][];
    const page = { seqs: [] as number[], times: [] as string[], types: [] as string[], payloads: [] as string[], last: rows.length < PAGE_ROWS };
    for (const raw of rows) {
      const rec = decodeReplayRow(raw);
      page.seqs.push(rec.seq);
      page.times.push(rec.time);
      page.types.push(rec.event.type);
      page.payloads.push(raw[2] === currentVersion[rec.event.type] ? (raw[4] as string) : JSON.stringify(rec.event.data));
    }
    post(page);
    faultPoint('replay-read');
    if (page.last) break;
    next = page.seqs[page.seqs.length - 1]! + 1;
  }
} catch (err) {
  post({ error: forwardedError(err) });
} finally {
  db?.close();
  port.close();
}
