// Incremental journal sync: each vault gets, as new immutable segments, only the events it does not have.
import { integrityError, userError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import type { JournalRow } from '../events/envelope.js';
import { type SegmentName, decodeSegment, encodeSegment, journalPrefix, parseSegmentKeys, segmentKey } from '../events/segment.js';
import { type Vault, vaultProblem } from '../vaults/vault.js';
import type { Context } from './context.js';
import type { UnavailableVaults } from './unavailable-vaults.js';

export interface SyncResult {
  readonly vault: string;
  readonly events: number;
  readonly segments: number;
  readonly bytes: number;
  /** Set when this vault could not be synced; the others still were. */
  readonly error?: string;
}

/** At most this many events per segment, so no single object (or its memory) grows without bound. */
export const EVENTS_PER_SEGMENT = 5_000;

export async function syncJournal(ctx: Context, vaults: readonly Vault[], unavailable?: UnavailableVaults): Promise<SyncResult[]> {
  const results: SyncResult[] = [];
  for (const vault of vaults) {
    // Found unavailable in this run (backup): not asked again, each request waiting out its timeouts.
    const down = unavailable?.reasonWhy(vault.name);
    if (down !== undefined) {
      results.push({ vault: vault.name, events: 0, segments: 0, bytes: 0, error: `unavailable in this run (${down}); the next sync sends it` });
      continue;
    }
    try {
      results.push(await syncOne(ctx, vault));
      // This host's journal is there now: that vault is the one it uses under this name.
      vault.adoptIdentity?.();
    } catch (err) {
      results.push({ vault: vault.name, events: 0, segments: 0, bytes: 0, error: vaultProblem(vault.name, err) });
    }
  }
  return results;
}

/** The vault's segments for a host, checked to be contiguous from event 1; `gapHint` says what to do about a gap. */
export async function listSegments(vault: Vault, hostId: string, gapHint?: string): Promise<SegmentName[]> {
  const segments = parseSegmentKeys(await vault.listMetadata(journalPrefix(hostId)));
  let expected = 1;
  let previous: SegmentName | undefined;
  for (const s of segments) {
    if (s.first < expected && previous) {
      throw integrityError(
        `vault "${vault.name}": two journal segments of host ${hostId} hold events from ${s.first} on (${previous.key} and ${s.key}): two machines have been using this host id`,
        'stop bt on all but one of them; see README, "Two machines with one host id"',
      );
    }
    if (s.first !== expected) {
      throw integrityError(
        `vault "${vault.name}": journal segment with events ${expected}..${s.first - 1} of host ${hostId} is missing (next is ${s.key})`,
        gapHint,
      );
    }
    expected = s.last + 1;
    previous = s;
  }
  return segments;
}

async function syncOne(ctx: Context, vault: Vault): Promise<SyncResult> {
  const journal = ctx.store.journal;
  const hostId = ctx.config.host_id;
  const local = journal.head();
  // This host's own copy: the local journal holds every event to write it again.
  const segments = await listSegments(vault, hostId, 'run `bt check --repair` to write it again from this journal');
  const lastSegment = segments[segments.length - 1];
  const vaultSeq = lastSegment?.last ?? 0;
  if (vaultSeq > local.seq) {
    throw userError(
      `vault "${vault.name}" holds ${vaultSeq} events for host ${hostId} but this journal has only ${local.seq}`,
      'another machine may be using this host id, or this database is older than the vault; use `bt recover` to adopt the vault copy',
    );
  }
  if (lastSegment) {
    const known = ctx.store.syncState.get(vault.name);
    const vaultHash =
      known && known.key === lastSegment.key && known.seq === vaultSeq
        ? known.hash
        : lastRow(decodeSegment(lastSegment, await vault.getMetadata(lastSegment.key))).hash;
    const mine = [...journal.rows({ from: vaultSeq, to: vaultSeq })][0];
    if (!mine || mine.hash !== vaultHash) {
      throw integrityError(
        `vault "${vault.name}": the journal of host ${hostId} diverges from this one at or before event ${vaultSeq}`,
        'refusing to overwrite it; run `bt journal verify` to find where',
      );
    }
  }
  let events = 0;
  let bytes = 0;
  let count = 0;
  for (let from = vaultSeq + 1; from <= local.seq; from += EVENTS_PER_SEGMENT) {
    const to = Math.min(local.seq, from + EVENTS_PER_SEGMENT - 1);
    const rows = [...journal.rows({ from, to })];
    const data = encodeSegment(rows);
    const key = segmentKey(hostId, from, to);
    await vault.putMetadata(key, data);
    faultPoint('segment');
    ctx.store.syncState.set({ vault: vault.name, seq: to, hash: lastRow(rows).hash, key });
    events += rows.length;
    bytes += data.length;
    count++;
  }
  // Another machine with this host id writing at the same moment can put a segment of other events beside
  // these (under another name): looked for once more, so neither is told the sync worked.
  if (count > 0) await listSegments(vault, hostId);
  return { vault: vault.name, events, segments: count, bytes };
}

function lastRow(rows: readonly JournalRow[]): JournalRow {
  const row = rows[rows.length - 1];
  if (!row) throw new Error('empty journal segment');
  return row;
}
