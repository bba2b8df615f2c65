// `bt check` of this host's journal as a vault holds it: the segments must follow each other from event 1
// and match the local journal. A vault copy that is damaged or has a gap is useless for `bt recover`, and
// `bt sync` would stop at a gap for good; `--repair` writes those segments again from the local journal.
import { describeError } from '../core/errors.js';
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
  readonly problem: string;
  /** Damage the local journal can mend (a missing range, or bytes that are not the events they should be). */
  readonly repairable: boolean;
  repaired: boolean;
  repairNote?: string;
}

/**
 * The problems of the vault's copy. Without `readAll` the listing is checked (gaps, overlaps) and only the
 * last segment is read, as a backup's sync does; with it, every segment is read and compared.
 */
export async function checkVaultJournal(ctx: Context, vault: Vault, readAll: boolean): Promise<SegmentProblem[]> {
  const host = ctx.config.host_id;
  const journal = ctx.store.journal;
  const localHead = journal.head().seq;
  const segments = parseSegmentKeys(await vault.listMetadata(journalPrefix(host))).sort((a, b) => a.first - b.first || a.last - b.last);
  const problems: SegmentProblem[] = [];
  const found = (s: SegmentName, problem: string, repairable: boolean): void => {
    problems.push({ vault: vault.name, key: s.key, first: s.first, last: s.last, problem, repairable, repaired: false });
  };
  let expected = 1;
  for (const [i, s] of segments.entries()) {
    if (s.first > expected) {
      const gap = { key: segmentKey(host, expected, s.first - 1), first: expected, last: s.first - 1 };
      found(gap, `events ${gap.first}..${gap.last} are missing (no segment holds them)`, gap.last <= localHead);
    } else if (s.first < expected) {
      found(s, `overlaps the segment before it (events ${s.first}..${expected - 1} twice)`, false);
      continue;
    }
    expected = s.last + 1;
    if (!readAll && i !== segments.length - 1) continue;
    const local = [...journal.rows({ from: s.first, to: s.last })];
    let rows: JournalRow[];
    try {
      rows = decodeSegment(s, await vault.getMetadata(s.key));
    } catch (err) {
      const why = /is damaged \((.*)\)$/.exec(describeError(err))?.[1] ?? describeError(err);
      found(s, `damaged (${why})`, local.length === s.last - s.first + 1);
      continue;
    }
    if (rows.length === local.length && rows.every((r, k) => r.hash === local[k]!.hash)) continue;
    // Events that verify among themselves but are not this journal's come from another machine with this host
    // id (or this database is older than the vault): not bt's to overwrite. Anything else is damage.
    const self = verifyRows(rows, { seq: s.first - 1, hash: rows[0]?.prev_hash ?? '' });
    if (self.ok && rows.length > 0) found(s, 'holds other events than this journal (another machine with this host id?)', false);
    else found(s, `damaged: ${self.ok ? 'it holds no events' : `event ${self.seq}: ${self.problem}`}`, local.length === s.last - s.first + 1);
  }
  return problems;
}

/** Writes a damaged or missing segment again from the local journal, the same events under the same key. */
export async function repairSegment(ctx: Context, vault: Vault, p: SegmentProblem): Promise<void> {
  const rows = [...ctx.store.journal.rows({ from: p.first, to: p.last })];
  if (rows.length !== p.last - p.first + 1) throw new Error(`the local journal lacks events ${p.first}..${p.last}`);
  await vault.replaceMetadata(p.key, encodeSegment(rows));
}
