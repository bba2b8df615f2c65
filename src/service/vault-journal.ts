// Reading journals back from a vault: which hosts it holds, and a host's events, verified segment by segment.
import { BtError, integrityError, userError } from '../core/errors.js';
import { type JournalRow } from '../events/envelope.js';
import { type JournalHead, verifyRows } from '../events/journal.js';
import { type SegmentName, decodeSegment } from '../events/segment.js';
import type { Vault } from '../vaults/vault.js';
import { listSegments } from './journal-sync.js';

export interface VaultHost {
  readonly host: string;
  readonly events: number;
  readonly segments: number;
  readonly lastEventAt: string | null;
  /** Set when this host's journal in the vault is damaged (a segment missing or unreadable): said, not fatal. */
  readonly problem?: string;
}

/** Host ids with a journal in the vault (from the names of its objects alone). */
export async function vaultHostIds(vault: Vault): Promise<string[]> {
  const keys = await vault.listMetadata('hosts/');
  return [...new Set(keys.map((k) => /^hosts\/([0-9A-HJKMNP-TV-Z]{26})\/journal\//.exec(k)?.[1]).filter((h): h is string => h !== undefined))].sort();
}

/** Host ids with a journal in the vault, with their event count and the time of their last event. */
export async function listVaultHosts(vault: Vault): Promise<VaultHost[]> {
  const out: VaultHost[] = [];
  for (const host of await vaultHostIds(vault)) {
    try {
      const segments = await listSegments(vault, host);
      const last = segments[segments.length - 1];
      const rows = last ? decodeSegment(last, await vault.getMetadata(last.key)) : [];
      out.push({ host, events: last?.last ?? 0, segments: segments.length, lastEventAt: rows[rows.length - 1]?.time ?? null });
    } catch (err) {
      // One host's damaged journal must not hide the others (each is recovered on its own).
      if (!(err instanceof BtError && err.kind === 'integrity')) throw err;
      out.push({ host, events: 0, segments: 0, lastEventAt: null, problem: err.message });
    }
  }
  return out;
}

/**
 * Streams a host's journal from the vault, segment by segment, verifying the hash chain end to end from
 * event 1. A damaged, missing or out-of-chain segment is an error naming it. `onSegment` receives each
 * segment's verified rows in order.
 */
export async function readVaultJournal(
  vault: Vault,
  host: string,
  onSegment: (rows: readonly JournalRow[], segment: SegmentName) => void | Promise<void>,
): Promise<{ events: number; segments: number; head: JournalHead }> {
  const segments = await listSegments(vault, host);
  if (segments.length === 0) throw userError(`vault "${vault.name}" has no journal for host ${host}`, 'see `bt hosts`');
  let head: JournalHead | undefined;
  for (const segment of segments) {
    const rows = decodeSegment(segment, await vault.getMetadata(segment.key));
    for (const row of rows) {
      if (row.host_id !== host) {
        throw integrityError(`vault "${vault.name}": journal segment ${segment.key} holds event ${row.seq} of another host (${row.host_id})`);
      }
    }
    const report = verifyRows(rows, head);
    if (!report.ok) {
      throw integrityError(
        `vault "${vault.name}": journal segment ${segment.key} breaks the hash chain at event ${report.seq}: ${report.problem}`,
        'the vault copy was damaged or tampered with; try another vault with --vault',
      );
    }
    head = report.head;
    await onSegment(rows, segment);
  }
  return { events: head?.seq ?? 0, segments: segments.length, head: head! };
}
