// `bt check` of this host's journal as a vault holds it: the segments must follow each other from event 1
// and match the local journal. A vault copy that is damaged or has a gap is useless for `bt recover`, and
// `bt sync` would stop at a gap for good; `--repair` writes those segments again from the local journal.
import { BtError, describeError } from '../core/errors.js';
import type { JournalRow } from '../events/envelope.js';
import { verifyRows } from '../events/journal.js';
import { type SegmentName, decodeSegment, encodeSegment, journalPrefix, parseSegmentKeys, segmentKey } from '../events/segment.js';
import type { Vault } from '../vaults/vault.js';
import type { Context } from './context.js';

export interface SegmentProblem {
  readonly vault: string;
  /** The segment's key: an existing one that is damaged, or the one a missing range is written under. */
  readonly key: string;
  readonly first: number;
  readonly last: number;
  /**
   * missing: no segment holds these events; damaged: the bytes are not events that verify; foreign: events
   * that verify but are not this journal's (another machine with this host id); overlap: two segments hold
   * the same events; ahead: the vault holds events this journal does not have yet (a database recovered
   * `--at`, or older than the vault), which is said but is no damage.
   */
  readonly kind: 'missing' | 'damaged' | 'foreign' | 'overlap' | 'ahead';
  readonly problem: string;
  /** The local journal can mend it, and everything read of the vault's copy is this journal's. */
  repairable: boolean;
  repaired: boolean;
  repairNote?: string;
}

/**
 * The problems of the vault's copy. Without `readAll` the listing is checked (gaps, overlaps) and only the
 * last segment is read, as a backup's sync does; with it, every segment is read and compared. A segment that
 * cannot be read (a permission, a timeout) is the vault's failure to answer: thrown, not called damage.
 */
export async function checkVaultJournal(ctx: Context, vault: Vault, readAll: boolean): Promise<SegmentProblem[]> {
  const host = ctx.config.host_id;
  const journal = ctx.store.journal;
  const localHead = journal.head().seq;
  const segments = parseSegmentKeys(await vault.listMetadata(journalPrefix(host))).sort((a, b) => a.first - b.first || a.last - b.last);
  const problems: SegmentProblem[] = [];
  const found = (s: SegmentName, kind: SegmentProblem['kind'], problem: string): void => {
    problems.push({ vault: vault.name, key: s.key, first: s.first, last: s.last, kind, problem, repairable: false, repaired: false });
  };
  let expected = 1;
  for (const [i, s] of segments.entries()) {
    if (s.first > expected) {
      const gap = { key: segmentKey(host, expected, s.first - 1), first: expected, last: s.first - 1 };
      found(gap, 'missing', `events ${gap.first}..${gap.last} are missing (no segment holds them)`);
    } else if (s.first < expected) {
      found(s, 'overlap', `overlaps the segment before it (events ${s.first}..${Math.min(s.last, expected - 1)} twice)`);
      continue;
    }
    expected = s.last + 1;
    if (!readAll && i !== segments.length - 1) continue;
    let rows: JournalRow[];
    try {
      rows = decodeSegment(s, await vault.getMetadata(s.key));
    } catch (err) {
      if (!(err instanceof BtError && err.kind === 'integrity')) throw err;
      found(s, 'damaged', `damaged (${/is damaged \((.*)\)$/.exec(err.message)?.[1] ?? describeError(err)})`);
      continue;
    }
    const local = [...journal.rows({ from: s.first, to: Math.min(s.last, localHead) })];
    if (local.every((l, k) => rows[k]?.hash === l.hash) && rows.length === s.last - s.first + 1) {
      if (s.last > localHead) found(s, 'ahead', `holds events ${Math.max(s.first, localHead + 1)}..${s.last}, which this journal does not have`);
      continue;
    }
    // Events that verify among themselves but are not this journal's: not bt's to overwrite. Anything else
    // is damage.
    const self = verifyRows(rows, { seq: s.first - 1, hash: rows[0]?.prev_hash ?? '' });
    if (self.ok && rows.length > 0) found(s, 'foreign', 'holds other events than this journal (another machine with this host id?)');
    else found(s, 'damaged', `damaged (${self.ok ? 'it holds no events' : `event ${self.seq}: ${self.problem}`})`);
  }
  // Mended only from a copy read in full and found to be this journal's wherever it is readable: a gap or a
  // damaged segment among another machine's events must not be filled with this one's.
  const mine = readAll && !problems.some((p) => p.kind === 'foreign' || p.kind === 'overlap' || p.kind === 'ahead');
  for (const p of problems) p.repairable = mine && (p.kind === 'missing' || p.kind === 'damaged') && p.last <= localHead;
  return problems;
}

/** Writes a damaged or missing segment again from the local journal, the same events under the same key. */
export async function repairSegment(ctx: Context, vault: Vault, p: SegmentProblem): Promise<void> {
  const rows = [...ctx.store.journal.rows({ from: p.first, to: p.last })];
  if (rows.length !== p.last - p.first + 1) throw new Error(`the local journal lacks events ${p.first}..${p.last}`);
  await vault.replaceMetadata(p.key, encodeSegment(rows));
}
