// Replay with the journal read and decoded on a worker thread: a rebuild's main thread only parses payloads
// the worker already decoded with the event codecs, and applies them. Reading the rows and checking them
// is ~40% of a rebuild on one thread; on two cores it runs beside the apply steps. Synchronous for the
// caller (a rebuild is one SQLite transaction, which cannot wait on the event loop): it blocks on Atomics.
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import type BetterSqlite3 from 'better-sqlite3';
import * as t from 'io-ts';
import { BtError, type ErrorKind, errnoCode } from '../core/errors.js';
import { decodeWith } from '../core/decode.js';
import { workerThreads } from '../core/lazy-builtin.js';
import { workerScript } from '../core/worker-pool.js';
import type { DomainEvent } from './codecs.js';
import type { ReplayedEvent } from './envelope.js';

/** Control words shared with the worker (Int32Array indexes). */
export const CTL = { produced: 0, consumed: 1, stop: 2, started: 3 } as const;
/** Pages the worker may run ahead of the apply steps: enough to keep both threads busy, little memory. */
export const PAGES_AHEAD = 3;
export const PAGE_ROWS = 5000;
/** Below this many events a worker's start-up costs more than it saves. */
const MIN_EVENTS = 20_000;
/** No page from the worker for this long means it is gone: the rebuild fails instead of hanging. */
const STALL_MS = 60_000;
/**
 * A worker that has not run its first line by then never will (its script failed to load): the replay
 * goes on in-thread. Its 'error' event cannot reach this thread, which is blocked in a transaction.
 */
const START_MS = 10_000;

export interface ReplayWorkerData {
  readonly file: string;
  readonly from: number;
  readonly to: number;
  readonly control: SharedArrayBuffer;
  readonly port: import('node:worker_threads').MessagePort;
}

const errorKinds: Record<ErrorKind, null> = { user: null, usage: null, integrity: null, busy: null, vault: null };
const ErrorKindCodec = t.keyof(errorKinds);

/** What stopped the worker, as this thread would have thrown it (a bt error, or SQLite's code for damage). */
export function forwardedError(err: unknown): { message: string; hint: string | null; kind: ErrorKind | null; code: string | null } {
  if (err instanceof BtError) return { message: err.message, hint: err.hint ?? null, kind: err.kind, code: null };
  return { message: err instanceof Error ? err.message : String(err), hint: null, kind: null, code: errnoCode(err) ?? null };
}

/**
 * A page of decoded events. A payload is the stored text when its version is current (the codecs are
 * identity codecs: what decodes is what parses), else the upcast payload as JSON.
 */
export const ReplayPage = t.union([
  t.type({ seqs: t.array(t.number), times: t.array(t.string), types: t.array(t.string), payloads: t.array(t.string), last: t.boolean }),
  t.type({ error: t.type({ message: t.string, hint: t.union([t.string, t.null]), kind: t.union([ErrorKindCodec, t.null]), code: t.union([t.string, t.null]) }) }),
]);
export type ReplayPage = t.TypeOf<typeof ReplayPage>;

/** The worker script, and the fewest events worth starting it for. */
export interface ReplayReader {
  readonly script: URL;
  readonly minEvents: number;
}

/**
 * The build's worker beside this module, or `script`. Worker threads do not load TypeScript: run from the
 * sources (tests, the bench), replay stays in-thread unless given the build's script. On one core a
 * second thread only adds its messages and a second parse.
 */
export const defaultReplayReader = (script = workerScript(import.meta.url, 'replay-worker')): ReplayReader => ({
  script,
  minEvents: availableParallelism() > 1 ? MIN_EVENTS : Number.POSITIVE_INFINITY,
});

/**
 * Whether to read `events` rows of `db` off-thread: the worker's own connection must see what this one
 * sees. So a database file (not `:memory:`) in WAL mode (in rollback mode its read lock would block this
 * connection's writes), opened by no transaction outside the rebuild's (`outerTransaction`): rows it holds
 * uncommitted are invisible to the worker.
 */
export function replaysOffThread(reader: ReplayReader, db: BetterSqlite3.Database, outerTransaction: boolean, events: number): boolean {
  if (events < reader.minEvents || outerTransaction || db.name === '' || db.name === ':memory:') return false;
  if (!reader.script.pathname.endsWith('.js') || !existsSync(fileURLToPath(reader.script))) return false;
  return db.pragma('journal_mode', { simple: true }) === 'wal';
}

/**
 * Events from..to of the journal in `file`, in sequence order, decoded on a worker thread; `inThread`
 * gives them instead if the worker does not start.
 */
export function* replayOffThread(
  script: URL,
  file: string,
  from: number,
  to: number,
  inThread: () => Iterable<ReplayedEvent>,
  startMs = START_MS,
): Generator<ReplayedEvent> {
  const { Worker, MessageChannel, receiveMessageOnPort } = workerThreads();
  const channel = new MessageChannel();
  const control = new SharedArrayBuffer(4 * 4);
  const ctl = new Int32Array(control);
  const data: ReplayWorkerData = { file, from, to, control, port: channel.port2 };
  const worker = new Worker(script, { workerData: data, transferList: [channel.port2] });
  // A worker that dies posts nothing: the wait below gives up after STALL_MS.
  worker.on('error', () => {});
  worker.unref();
  let consumed = 0;
  try {
    if (Atomics.wait(ctl, CTL.started, 0, startMs) === 'timed-out') {
      yield* inThread();
      return;
    }
    for (;;) {
      let received = receiveMessageOnPort(channel.port1);
      while (received === undefined) {
        if (Atomics.wait(ctl, CTL.produced, consumed, STALL_MS) === 'timed-out') throw new Error('the journal reader thread stopped answering');
        received = receiveMessageOnPort(channel.port1);
      }
      Atomics.store(ctl, CTL.consumed, ++consumed);
      Atomics.notify(ctl, CTL.consumed);
      const decoded = decodeWith(ReplayPage, received.message);
      if (!decoded.ok) throw new Error(`the journal reader thread sent a malformed page: ${decoded.reason}`);
      const page = decoded.value;
      if ('error' in page) {
        const { message, hint, kind, code } = page.error;
        if (kind !== null) throw new BtError(kind, message, hint ?? undefined);
        throw Object.assign(new Error(message), code === null ? {} : { code });
      }
      const { seqs, times, types, payloads } = page;
      if (times.length !== seqs.length || types.length !== seqs.length || payloads.length !== seqs.length) {
        throw new Error('the journal reader thread sent a page of unequal columns');
      }
      for (let i = 0; i < seqs.length; i++) {
        // Decoded by the worker with the event codecs; parsing the same text gives the same value.
        const event = { type: types[i], data: JSON.parse(payloads[i]!) as unknown } as DomainEvent;
        yield { seq: seqs[i]!, time: times[i]!, event };
      }
      if (page.last) return;
    }
  } finally {
    Atomics.store(ctl, CTL.stop, 1);
    Atomics.notify(ctl, CTL.consumed);
    channel.port1.close();
    void worker.terminate();
  }
}
