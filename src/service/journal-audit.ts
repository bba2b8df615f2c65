// `bt journal`: the audit trail, event by event with a readable summary; and `bt journal verify`.
import { describeError, integrityError, usageError } from '../core/errors.js';
import { parseUserTime } from '../core/time.js';
import { isoTime } from '../core/ids.js';
import { type EventType, type StoredIn, eventTypes, isEventType } from '../events/codecs.js';
import type { RecordedEvent } from '../events/envelope.js';
import type { Queries } from '../projections/queries.js';
import type { Vault } from '../vaults/vault.js';
import type { Context } from './context.js';
import { locateFile } from './locate.js';
import { listSegments } from './journal-sync.js';
import { readVaultJournal } from './vault-journal.js';

export interface JournalFilter {
  readonly type?: string;
  readonly file?: string;
  readonly since?: string;
  readonly until?: string;
}

export interface JournalLine {
  readonly event: RecordedEvent;
  readonly summary: string;
}

export function listJournal(ctx: Context, filter: JournalFilter): JournalLine[] {
  let type: EventType | undefined;
  if (filter.type !== undefined) {
    if (!isEventType(filter.type)) throw usageError(`--type: unknown event type "${filter.type}"`, `use one of ${eventTypes.join(', ')}`);
    type = filter.type;
  }
  const since = filter.since === undefined ? undefined : isoTime(parseUserTime(filter.since, '--since', 'start'));
  const until = filter.until === undefined ? undefined : isoTime(parseUserTime(filter.until, '--until'));
  if (since !== undefined && until !== undefined && since > until) throw usageError(`--since ${filter.since} is after --until ${filter.until}`, 'swap them');
  const fileId = filter.file === undefined ? undefined : locateFile(ctx, filter.file).file.id;
  const q = ctx.store.queries;
  const dirs = new Map(q.listDirectories().map((d) => [d.id, d.path]));
  const out: JournalLine[] = [];
  // For --file: its own events, and the storing of the contents it staged.
  const contents = new Set<string>();
  const aboutFile = (rec: RecordedEvent): boolean => {
    const e = rec.event;
    if (e.type === 'ContentStored') return contents.has(e.data.content_id);
    if (!('file_id' in e.data) || e.data.file_id !== fileId) return false;
    if (e.type === 'FileStaged' && e.data.content_id !== null) contents.add(e.data.content_id);
    return true;
  };
  for (const rec of ctx.store.journal.read()) {
    // A directory since absorbed into its parent is no longer tracked: its events still name its path.
    if (rec.event.type === 'DirectoryTracked' && !dirs.has(rec.event.data.directory_id)) dirs.set(rec.event.data.directory_id, rec.event.data.path);
    if (fileId !== undefined && !aboutFile(rec)) continue;
    if (type !== undefined && rec.event.type !== type) continue;
    if (since !== undefined && rec.time < since) continue;
    if (until !== undefined && rec.time > until) continue;
    out.push({ event: rec, summary: summarize(rec, q, dirs) });
  }
  return out;
}

const short = (sha: string | null): string => (sha === null ? '-' : sha.slice(0, 12));

const storedIn = (s: StoredIn, size: number): string =>
  `${s.vault} (${size} B, ${s.sent === null ? 'sent ?' : `sent ${s.sent} B`}${s.chunks === null ? '' : `, ${s.chunks} chunks`})`;

function summarize(rec: RecordedEvent, q: Queries, dirs: Map<string, string>): string {
  const pathOf = (fileId: string): string => {
    const f = q.findFileById(fileId);
    return f ? `${dirs.get(f.directory_id) ?? '?'}/${f.name}` : fileId;
  };
  const e = rec.event;
  switch (e.type) {
    case 'DirectoryTracked':
      return `tracked ${e.data.path}`;
    case 'DirectoryAbsorbed':
      return `${e.data.prefix}/ absorbed into ${dirs.get(e.data.into_directory_id) ?? e.data.into_directory_id}`;
    case 'FileStaged':
      return e.data.meta.kind === 'symlink'
        ? `staged ${pathOf(e.data.file_id)} (symlink -> ${e.data.meta.link_target})`
        : `staged ${pathOf(e.data.file_id)} ${short(e.data.content_id)} ${e.data.meta.size} B`;
    case 'StageDropped':
      return `dropped stage of ${pathOf(e.data.file_id)} (${e.data.reason})`;
    case 'ContentStored':
      return `stored ${short(e.data.content_id)} in ${storedIn(e.data, e.data.size)}`;
    case 'SnapshotCommitted': {
      const stored = e.data.stored.map((s) => storedIn(s, e.data.meta.size));
      return `committed ${pathOf(e.data.file_id)} ${short(e.data.content_id)}${stored.length === 0 ? '' : `, stored in ${stored.join(', ')}`}`;
    }
    case 'FileDeleted':
      return `deleted ${pathOf(e.data.file_id)}`;
    case 'DirectoryRemoved': {
      const dir = dirs.get(e.data.directory_id) ?? e.data.directory_id;
      return `directory ${e.data.name === '' ? dir : `${dir}/${e.data.name}`} removed`;
    }
    case 'DirectoryMetaRecorded': {
      const dir = dirs.get(e.data.directory_id) ?? e.data.directory_id;
      return `directory ${e.data.name === '' ? dir : `${dir}/${e.data.name}`} mode ${e.data.meta.mode.toString(8).padStart(4, '0')} owner ${e.data.meta.uid}:${e.data.meta.gid}`;
    }
  }
}

export interface VaultVerification {
  readonly vault: string;
  readonly ok: boolean;
  /** Events the vault holds that match the local journal. */
  readonly matching: number;
  /** Local events the vault does not hold yet (a later sync uploads them); not a problem. */
  readonly notYetSynced: number;
  readonly problem?: string;
}

export interface VerifyResult {
  readonly localOk: boolean;
  readonly localEvents: number;
  readonly localProblem?: string;
  readonly vaults: readonly VaultVerification[];
}

/** Checks the local chain, and that every vault's segments are exactly the local journal's events. */
export async function verifyJournal(ctx: Context, vaults: readonly Vault[]): Promise<VerifyResult> {
  const chain = ctx.store.journal.verifyChain();
  const localEvents = ctx.store.journal.head().seq;
  const results: VaultVerification[] = [];
  for (const vault of vaults) results.push(await verifyVault(ctx, vault, localEvents));
  return {
    localOk: chain.ok,
    localEvents,
    ...(chain.ok ? {} : { localProblem: `event ${chain.seq}: ${chain.problem}` }),
    vaults: results,
  };
}

async function verifyVault(ctx: Context, vault: Vault, localEvents: number): Promise<VaultVerification> {
  let matching = 0;
  try {
    if ((await listSegments(vault, ctx.config.host_id)).length === 0) {
      return { vault: vault.name, ok: true, matching: 0, notYetSynced: localEvents };
    }
    await readVaultJournal(vault, ctx.config.host_id, (rows, segment) => {
      for (const row of rows) {
        const mine = [...ctx.store.journal.rows({ from: row.seq, to: row.seq })][0];
        if (!mine) throw integrityError(`segment ${segment.key} holds event ${row.seq}, which the local journal does not have`);
        if (mine.hash !== row.hash) throw integrityError(`segment ${segment.key}: event ${row.seq} differs from the local journal`);
        matching++;
      }
    });
  } catch (err) {
    return { vault: vault.name, ok: false, matching, notYetSynced: 0, problem: describeError(err) };
  }
  return { vault: vault.name, ok: true, matching, notYetSynced: localEvents - matching };
}
