// `bt recover`: rebuild this machine's metadata from a vault's copy of a host's journal, and adopt that host.
import { existsSync } from 'node:fs';
import { writeConfig } from '../config/file.js';
import { userError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { parseUserTime } from '../core/time.js';
import { isoTime } from '../core/ids.js';
import type { DomainEvent } from '../events/codecs.js';
import type { JournalRow } from '../events/envelope.js';
import { findVaultConfig, openVault } from '../vaults/registry.js';
import type { Vault } from '../vaults/vault.js';
import type { Context } from './context.js';
import { readVaultJournal, vaultHostIds } from './vault-journal.js';
import { moveOlderStagedCopies } from './staging-area.js';

export interface RecoverOptions {
  readonly host?: string;
  readonly vault?: string;
  readonly at?: string;
}

export interface RecoverResult {
  readonly host: string;
  readonly vault: string;
  /** Events in the local journal after recovery. */
  readonly events: number;
  /** Events newly imported by this run (0 when it was already complete). */
  readonly imported: number;
  readonly at: string | null;
  readonly adoptedHostId: boolean;
  /** Staged versions whose copies stayed on the lost machine, and whose content no vault is recorded to hold. */
  readonly lostStages: number;
  /** Staged versions kept for `bt backup` to commit: a vault holds their content, or they are symlinks. */
  readonly keptStages: number;
  /** When the host's newest event in the vault was written: recent means that machine may still be running. */
  readonly lastEventAt: string | null;
}

export async function recover(ctx: Context, opts: RecoverOptions): Promise<RecoverResult> {
  const vault = await pickVault(ctx, opts.vault);
  const host = await pickHost(ctx, vault, opts.host);
  const at = opts.at === undefined ? undefined : isoTime(parseUserTime(opts.at, '--at'));
  const store = ctx.store.forHost(host);
  const journal = store.journal;
  const owner = journal.owner();
  if (owner !== undefined && owner !== host) {
    throw userError(
      `this machine already has a journal of host ${owner}`,
      `recover into a fresh base directory (BT_BASE_DIR with a new config), or move ${ctx.config.database.data_dir} aside`,
    );
  }
  const local = journal.head();
  const frozen = store.settings.get('frozen_at');
  if (frozen !== undefined && at !== undefined && at < frozen) {
    throw userError(`this database already holds the state of ${frozen}, later than ${at}`, `move ${ctx.config.database.data_dir} aside to recover an earlier state`);
  }
  if (owner !== undefined && frozen === undefined && at !== undefined) {
    throw userError('this database is already recovered and in use', `--at needs a fresh base directory; move ${ctx.config.database.data_dir} aside first`);
  }

  // One write transaction across the whole download: a recovery that fails or is killed leaves nothing
  // behind, and memory holds one segment at a time. Rows already here must be the vault's own.
  const db = ctx.store.db;
  db.exec('BEGIN IMMEDIATE');
  let imported = 0;
  let lastAt: string | undefined;
  let lostStages = 0;
  let keptStages = 0;
  try {
    let cut = false;
    const diverges = (seq: number): Error =>
      userError(`the local journal diverges from vault "${vault.name}" at or before event ${seq}`, `move ${ctx.config.database.data_dir} aside and recover again`);
    // The vault's last row the local journal has too: each hash covers the one before, so equal hashes there
    // mean equal journals up to it (the local one may go on with events not synced yet).
    let shared: JournalRow | undefined;
    let first: string | undefined;
    await readVaultJournal(vault, host, (rows) => {
      const fresh: JournalRow[] = [];
      for (const row of rows) {
        first ??= row.time;
        lastAt = row.time;
        if (cut || (at !== undefined && row.time > at)) {
          cut = true;
          continue;
        }
        if (row.seq === local.seq && row.hash !== local.hash) throw diverges(row.seq);
        if (row.seq <= local.seq) shared = row;
        else fresh.push(row);
      }
      journal.importRows(fresh);
      imported += fresh.length;
      ctx.reporter.progress?.({ phase: 'recovering', files: imported, bytes: 0 });
      faultPoint('recover');
    });
    // Nothing by then: a time before the host's first event (a typo, or the wrong host) adopts nothing.
    if (at !== undefined && journal.head().seq === 0) {
      throw userError(`host ${host} has no events as of ${at} in vault "${vault.name}"${first ? ` (its first is from ${first})` : ''}`, 'give a later --at');
    }
    if (shared !== undefined && shared.seq < local.seq) {
      const [mine] = [...journal.rows({ from: shared.seq, to: shared.seq })];
      if (mine?.hash !== shared.hash) throw diverges(shared.seq);
    }
    store.rebuild();
    if (at !== undefined) {
      store.settings.set('frozen_at', at);
    } else {
      store.settings.delete('frozen_at');
      // Staged copies do not travel with the journal. A stage whose content a vault took before the loss
      // (the backup stopped short of committing it: another vault was unreachable) is kept: `bt backup`
      // fetches the content back from that vault and commits it. A symlink's stage needs no copy. The rest
      // can never be committed here.
      moveOlderStagedCopies(ctx.stagingDir, store.queries);
      const waiting = store.queries.stagedOperations().filter((op) => !existsSync(ctx.stagedPath(op.stage_id)));
      const held = store.queries.contentLocationsOf(waiting.flatMap((op) => (op.content_id === null ? [] : [op.content_id])));
      // Only a vault configured here can give the content back (the lost machine's own vault is gone with it).
      const configured = new Set(ctx.config.vaults.map((v) => v.name));
      const fetchable = (contentId: string): boolean => [...(held.get(contentId) ?? [])].some((v) => configured.has(v));
      const lost: DomainEvent[] = waiting
        .filter((op) => op.content_id !== null && !fetchable(op.content_id))
        .map((op) => ({ type: 'StageDropped', data: { stage_id: op.stage_id, file_id: op.file_id, reason: 'lost' } }));
      lostStages = lost.length;
      keptStages = waiting.length - lost.length;
      store.append(lost);
    }
    ctx.store.syncState.clear();
    db.exec('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }

  // Last: the config names the host whose journal this now is (a re-run finds the journal and continues).
  const adoptedHostId = ctx.config.host_id !== host;
  if (adoptedHostId) writeConfig({ ...ctx.config, host_id: host });
  return { host, vault: vault.name, events: journal.head().seq, imported, at: at ?? null, adoptedHostId, lostStages, keptStages, lastEventAt: lastAt ?? null };
}

async function pickVault(ctx: Context, name: string | undefined): Promise<Vault> {
  if (name !== undefined) {
    const wanted = findVaultConfig(ctx.config, name);
    return (await ctx.vaults()).find((v) => v.name === wanted.name) ?? (await openVault(wanted));
  }
  const first = (await ctx.vaults())[0];
  if (!first) throw userError('no vault is configured', 'add the vault that holds the backups with `bt config vault add`');
  return first;
}

async function pickHost(ctx: Context, vault: Vault, host: string | undefined): Promise<string> {
  // By the names of its objects: another host's damaged journal is no reason to refuse this one.
  const ids = await vaultHostIds(vault);
  if (host !== undefined) {
    if (!ids.includes(host)) throw userError(`vault "${vault.name}" has no journal for host ${host}`, 'see `bt hosts`');
    return host;
  }
  if (ids.includes(ctx.config.host_id)) return ctx.config.host_id;
  if (ids.length === 1) return ids[0]!;
  if (ids.length === 0) throw userError(`vault "${vault.name}" holds no journal`, 'check --vault, or that the right vault is configured');
  throw userError(`vault "${vault.name}" holds journals of ${ids.length} hosts`, `choose one with --host (see \`bt hosts\`): ${ids.join(', ')}`);
}
