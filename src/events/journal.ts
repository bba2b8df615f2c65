// The append-only journal: the one source of truth. Appends extend the hash chain; reads decode every row.
import type BetterSqlite3 from 'better-sqlite3';
import * as t from 'io-ts';
import { integrityError } from '../core/errors.js';
import { decodeWith } from '../core/decode.js';
import { faultPoint } from '../core/fault.js';
import type { Clock, IdSource } from '../core/ids.js';
import { isoTime } from '../core/ids.js';
import { canonicalJson } from './canonical.js';
import { type DomainEvent, eventCodecs, isEventType } from './codecs.js';
import { GENESIS_HASH, JournalRow, type RecordedEvent, type ReplayedEvent, eventHash } from './envelope.js';
import { currentVersion, upcast } from './versions.js';

/**
 * The database refuses UPDATE and DELETE, and refuses an INSERT that does not extend the chain
 * (next sequence number, previous hash): append-only is enforced by SQLite, not by convention.
 */
export const journalSchema = `
CREATE TABLE IF NOT EXISTS journal (
  seq       INTEGER PRIMARY KEY,
  id        TEXT    NOT NULL,
  type      TEXT    NOT NULL,
  version   INTEGER NOT NULL,
  host_id   TEXT    NOT NULL,
  time      TEXT    NOT NULL,
  payload   TEXT    NOT NULL,
  prev_hash TEXT    NOT NULL,
  hash      TEXT    NOT NULL
);
CREATE TRIGGER IF NOT EXISTS journal_no_update BEFORE UPDATE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: UPDATE refused'); END;
CREATE TRIGGER IF NOT EXISTS journal_no_delete BEFORE DELETE ON journal
BEGIN SELECT RAISE(ABORT, 'journal is append-only: DELETE refused'); END;
-- One lookup: the row before must exist with the hash this row names. With no deletes, that makes every
-- insert the next link of one contiguous chain (a second row for a seq is refused by the primary key).
CREATE TRIGGER IF NOT EXISTS journal_extends_chain BEFORE INSERT ON journal
WHEN NOT (
  (NEW.seq = 1 AND NEW.prev_hash = '${GENESIS_HASH}')
  OR EXISTS (SELECT 1 FROM journal WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash)
)
BEGIN SELECT RAISE(ABORT, 'journal is append-only: an insert must extend the hash chain'); END;
`;

const ROWS_PER_PAGE = 5000;

export interface JournalHead {
  readonly seq: number;
  readonly hash: string;
}

export type ChainReport =
  | { readonly ok: true; readonly events: number; readonly head: JournalHead }
  | { readonly ok: false; readonly seq: number; readonly problem: string };

/** Called inside the append transaction for each new event: the projections follow the journal. */
export type ApplyEvent = (event: ReplayedEvent) => void;

export interface ReadRange {
  readonly from?: number;
  readonly to?: number;
}

export class Journal {
  private readonly insert: BetterSqlite3.Statement;
  private readonly lastRow: BetterSqlite3.Statement;
  private readonly pageStmt: BetterSqlite3.Statement;
  private readonly replayStmt: BetterSqlite3.Statement;
  private readonly appendBatch: (events: readonly DomainEvent[]) => RecordedEvent[];

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly hostId: string,
    private readonly clock: Clock,
    private readonly ids: IdSource,
    private readonly apply: ApplyEvent,
  ) {
    this.insert = db.prepare(
      'INSERT INTO journal (seq, id, type, version, host_id, time, payload, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    this.lastRow = db.prepare('SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1');
    this.pageStmt = db.prepare('SELECT * FROM journal WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?');
    this.replayStmt = db.prepare(REPLAY_PAGE_SQL).raw(true);
    this.appendBatch = db.transaction((events: readonly DomainEvent[]) => this.appendInTransaction(events));
  }

  head(): JournalHead {
    const row = this.lastRow.get() as JournalHead | undefined;
    return row ?? { seq: 0, hash: GENESIS_HASH };
  }

  /** Appends the events in one transaction, in order, applying each to the projections. All or nothing. */
  append(events: readonly DomainEvent[]): RecordedEvent[] {
    if (events.length === 0) return [];
    const recorded = this.appendBatch(events);
    faultPoint('append');
    return recorded;
  }

  private appendInTransaction(events: readonly DomainEvent[]): RecordedEvent[] {
    let { seq, hash } = this.head();
    // One transaction is one moment: its events share a time (their ids still increase).
    const ms = this.clock.now();
    const time = isoTime(ms);
    const recorded: RecordedEvent[] = [];
    for (const event of events) {
      // Types cannot check patterns (checksums, ids, integers): nothing malformed enters the journal.
      if (!eventCodecs[event.type].is(event.data)) {
        const why = decodeWith(eventCodecs[event.type] as t.Mixed, event.data);
        throw new Error(`refusing to append a malformed ${event.type}: ${why.ok ? 'invalid' : why.reason}`);
      }
      seq++;
      const id = this.ids(ms);
      const type = event.type;
      const version = currentVersion[type];
      const payload = canonicalJson(event.data);
      const rowHash = eventHash({ seq, id, type, version, host_id: this.hostId, time, payload, prev_hash: hash });
      this.insert.run(seq, id, type, version, this.hostId, time, payload, hash, rowHash);
      faultPoint('append-mid');
      const rec: RecordedEvent = { seq, id, version, host_id: this.hostId, time, prev_hash: hash, event, hash: rowHash };
      this.apply(rec);
      recorded.push(rec);
      hash = rowHash;
    }
    return recorded;
  }

  /**
   * Appends rows recorded elsewhere (a vault's copy of this host's journal), as they are: same seq, ids,
   * times and hashes. The caller verified them; the chain trigger refuses any that would not extend it.
   * Projections are not applied: the caller rebuilds them.
   */
  importRows(rows: readonly JournalRow[]): void {
    for (const r of rows) this.insert.run(r.seq, r.id, r.type, r.version, r.host_id, r.time, r.payload, r.prev_hash, r.hash);
  }

  /** The first event's host id: whose journal this is (undefined while it is empty). */
  owner(): string | undefined {
    const row = this.db.prepare('SELECT host_id FROM journal WHERE seq = 1').get() as { host_id: string } | undefined;
    return row?.host_id;
  }

  /**
   * Raw rows in sequence order, as stored (for hashing, sync and verification). Read in pages, not with an
   * open cursor, so the caller may write (e.g. apply projections) between rows on the same connection.
   */
  *rows(range: ReadRange = {}): Generator<JournalRow> {
    const last = range.to ?? Number.MAX_SAFE_INTEGER;
    let next = range.from ?? 1;
    for (;;) {
      const page = this.pageStmt.all(next, last, ROWS_PER_PAGE) as unknown[];
      for (const raw of page) yield decodeRow(raw);
      if (page.length < ROWS_PER_PAGE) return;
      next = (page[page.length - 1] as { seq: number }).seq + 1;
    }
  }

  /** Events for projections, in sequence order, decoded like `read` but without the envelope's hashes. */
  *replay(range: ReadRange = {}): Generator<ReplayedEvent> {
    const last = range.to ?? Number.MAX_SAFE_INTEGER;
    let next = range.from ?? 1;
    for (;;) {
      const page = this.replayStmt.all(next, last, ROWS_PER_PAGE) as unknown[][];
      for (const raw of page) yield decodeReplayRow(raw);
      if (page.length < ROWS_PER_PAGE) return;
      next = (page[page.length - 1]![0] as number) + 1;
    }
  }

  /** The event at `seq`, decoded as `replay` decodes it; an absent one is an integrity error. */
  replayOne(seq: number): ReplayedEvent {
    for (const rec of this.replay({ from: seq, to: seq })) return rec;
    throw integrityError(`journal row ${seq} is missing`, 'run `bt journal verify` to see the damage');
  }

  /** Decoded events in sequence order. A row that does not decode stops the read with an error naming it. */
  *read(range: ReadRange = {}): Generator<RecordedEvent> {
    for (const row of this.rows(range)) yield decodeEvent(row);
  }

  /** Walks the whole chain and reports the first broken link. */
  verifyChain(): ChainReport {
    return verifyRows(this.rows());
  }
}

export function decodeRow(raw: unknown): JournalRow {
  const decoded = decodeWith(JournalRow, raw);
  if (!decoded.ok) {
    const seq = typeof raw === 'object' && raw !== null && 'seq' in raw ? String((raw as { seq: unknown }).seq) : '?';
    throw integrityError(`journal row ${seq} does not decode: ${decoded.reason}`, 'run `bt journal verify` to see the damage');
  }
  return decoded.value;
}

/** A page of rows for replay: no hashes or ids, and arrays instead of objects (most of a rebuild's read cost). */
export const REPLAY_PAGE_SQL = 'SELECT seq, type, version, time, payload FROM journal WHERE seq >= ? AND seq <= ? ORDER BY seq LIMIT ?';

const ReplayRow = t.type({ seq: JournalRow.props.seq, type: t.string, version: JournalRow.props.version, time: JournalRow.props.time, payload: t.string });

/** One row of a REPLAY_PAGE_SQL page, decoded; an integrity error names the row and the field. */
export function decodeReplayRow(raw: readonly unknown[]): ReplayedEvent {
  const row = decodeWith(ReplayRow, { seq: raw[0], type: raw[1], version: raw[2], time: raw[3], payload: raw[4] });
  if (!row.ok) throw integrityError(`journal row ${String(raw[0])} does not decode: ${row.reason}`);
  const r = row.value;
  return { seq: r.seq, time: r.time, event: decodePayload(r.seq, r.type, r.version, r.payload) };
}

/** Parses, upcasts and decodes a payload into a typed event; errors name the row and the field. */
export function decodePayload(seq: number, type: string, version: number, payload: string): DomainEvent {
  const where = `journal row ${seq} (${type} v${version})`;
  const hint = 'the journal is damaged: run `bt journal verify`, or `bt recover` from a vault';
  if (!isEventType(type)) {
    throw integrityError(`${where}: unknown event type`, 'a newer bt may have written it (upgrade bt); otherwise the journal is damaged: run `bt journal verify`, or `bt recover` from a vault');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    throw integrityError(`${where}: payload is not JSON`, hint);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw integrityError(`${where}: payload is not an object`, hint);
  }
  const lifted = upcast(type, version, parsed as Record<string, unknown>);
  if (!lifted.ok) throw integrityError(`${where}: ${lifted.reason}`);
  const decoded = decodeWith(eventCodecs[type] as t.Mixed, lifted.payload);
  if (!decoded.ok) throw integrityError(`${where}: payload.${decoded.reason}`, hint);
  return { type, data: decoded.value } as DomainEvent;
}

/** Decodes one stored row into a recorded event (envelope and payload). */
export function decodeEvent(row: JournalRow): RecordedEvent {
  const event = decodePayload(row.seq, row.type, row.version, row.payload);
  return {
    seq: row.seq,
    id: row.id,
    version: row.version,
    host_id: row.host_id,
    time: row.time,
    event,
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

/** Checks sequence continuity, links and hashes of rows read in order, from the genesis or from `start`. */
export function verifyRows(rows: Iterable<JournalRow>, start: JournalHead = { seq: 0, hash: GENESIS_HASH }): ChainReport {
  let expectedSeq = start.seq + 1;
  let prev = start.hash;
  let count = 0;
  for (const row of rows) {
    if (row.seq !== expectedSeq) return { ok: false, seq: expectedSeq, problem: `event ${expectedSeq} is missing (next found is ${row.seq})` };
    if (row.prev_hash !== prev) return { ok: false, seq: row.seq, problem: 'its previous-hash does not match the event before it' };
    if (eventHash(row) !== row.hash) return { ok: false, seq: row.seq, problem: 'its content does not match its hash' };
    prev = row.hash;
    expectedSeq++;
    count++;
  }
  return { ok: true, events: count, head: { seq: expectedSeq - 1, hash: prev } };
}
