// `bt backup`: every staged version goes to every vault, then becomes a snapshot; then the journal is synced.
import { rmSync, statSync } from 'node:fs';
import pLimit from 'p-limit';
import { describeError } from '../core/errors.js';
import type { DomainEvent } from '../events/codecs.js';
import type { StagedOperation } from '../projections/queries.js';
import type { Vault } from '../vaults/vault.js';
import type { Context } from './context.js';
import { type SyncResult, syncJournal } from './journal-sync.js';
import { removeOrphanStagedCopies } from './stage-files.js';

export interface BackupResult {
  readonly files: number;
  /** Bytes sent to vaults (each vault counted). */
  readonly bytesSent: number;
  /** Bytes not sent because the vault already held the content. */
  readonly bytesDeduped: number;
  /** Staged versions left in place for the next run, with why. */
  readonly failed: readonly { path: string; reason: string }[];
  readonly sync: readonly SyncResult[];
}

/** Snapshots are committed in batches: one vault flush and one transaction per batch. */
const BATCH_OPS = 500;

interface OpOutcome {
  readonly events: DomainEvent[];
  readonly committed: boolean;
  readonly sent: number;
  readonly deduped: number;
  readonly error?: string;
}

export async function backup(ctx: Context): Promise<BackupResult> {
  removeOrphanStagedCopies(ctx);
  const vaults = await ctx.vaults();
  const ops = ctx.store.queries.stagedOperations();
  const limit = pLimit(Math.max(1, ctx.config.backup.concurrency));
  const dirs = new Map(ctx.store.queries.listDirectories().map((d) => [d.id, d.path]));
  const failed: { path: string; reason: string }[] = [];
  let files = 0;
  let bytesSent = 0;
  let bytesDeduped = 0;
  let done = 0;

  for (let i = 0; i < ops.length; i += BATCH_OPS) {
    const slice = ops.slice(i, i + BATCH_OPS);
    // Contents staged twice in this batch are uploaded once: the first upload is shared.
    const inflight = new Map<string, Promise<StoreOutcome>>();
    const outcomes = await Promise.all(
      slice.map((op) =>
        limit(async () => {
          const outcome = await storeOp(ctx, vaults, op, inflight);
          done++;
          ctx.reporter.progress?.({ phase: 'backing up', files: done, totalFiles: ops.length, bytes: bytesSent + outcome.sent });
          return outcome;
        }),
      ),
    );
    // Vault objects must be durable before the journal says they are stored.
    await Promise.all(vaults.map((v) => v.flush()));
    const events = outcomes.flatMap((o) => o.events);
    ctx.store.append(events);
    slice.forEach((op, k) => {
      const o = outcomes[k]!;
      bytesSent += o.sent;
      bytesDeduped += o.deduped;
      if (o.committed) {
        files++;
        rmSync(ctx.stagedPath(op.stage_id), { force: true });
      } else {
        const path = `${dirs.get(op.directory_id) ?? '?'}/${op.name}`;
        failed.push({ path, reason: o.error ?? 'not stored' });
        ctx.reporter.notice(`${path}: kept staged: ${o.error ?? 'not stored'}`);
      }
    });
  }
  const sync = await syncJournal(ctx, vaults);
  return { files, bytesSent, bytesDeduped, failed, sync };
}

interface StoreOutcome {
  readonly stored: readonly { vault: string; sent: number }[];
  readonly errors: readonly string[];
}

async function storeOp(ctx: Context, vaults: readonly Vault[], op: StagedOperation, inflight: Map<string, Promise<StoreOutcome>>): Promise<OpOutcome> {
  const commit = (): DomainEvent => ({
    type: 'SnapshotCommitted',
    data: {
      snapshot_id: ctx.newId(),
      stage_id: op.stage_id,
      file_id: op.file_id,
      content_id: op.content_id,
      meta: {
        kind: op.kind, size: op.size, mode: op.mode, uid: op.uid, gid: op.gid,
        atime_ns: op.atime_ns, mtime_ns: op.mtime_ns, ctime_ns: op.ctime_ns, birthtime_ns: op.birthtime_ns,
        dev: op.dev, ino: op.ino, link_target: op.link_target,
      },
      staged_at: op.staged_at,
    },
  });
  const contentId = op.content_id;
  if (contentId === null) return { events: [commit()], committed: true, sent: 0, deduped: 0 };

  let shared = inflight.get(contentId);
  const first = shared === undefined;
  if (!shared) {
    shared = storeContent(ctx, vaults, contentId, ctx.stagedPath(op.stage_id), op.size);
    inflight.set(contentId, shared);
  }
  const result = await shared;
  const events: DomainEvent[] = first
    ? result.stored.map((s) => ({ type: 'ContentStored', data: { content_id: contentId, vault: s.vault, size: op.size, sent: s.sent } }))
    : [];
  const sent = first ? result.stored.reduce((n, s) => n + s.sent, 0) : 0;
  const deduped = first ? result.stored.filter((s) => s.sent === 0).length * op.size : op.size * vaults.length;
  const held = new Set([...ctx.store.queries.contentLocations(contentId), ...result.stored.map((s) => s.vault)]);
  const everywhere = vaults.every((v) => held.has(v.name));
  if (!everywhere) return { events, committed: false, sent, deduped, error: result.errors.join('; ') || 'not stored' };
  return { events: [...events, commit()], committed: true, sent, deduped };
}

/** Puts one content into every vault that does not hold it yet; failures are collected, not thrown. */
async function storeContent(ctx: Context, vaults: readonly Vault[], contentId: string, stagedCopy: string, size: number): Promise<StoreOutcome> {
  const known = new Set(ctx.store.queries.contentLocations(contentId));
  const stored: { vault: string; sent: number }[] = [];
  const errors: string[] = [];
  const missing = vaults.filter((v) => !known.has(v.name));
  let copyExists: boolean | undefined;
  for (const vault of missing) {
    try {
      if (await vault.hasContent(contentId)) {
        stored.push({ vault: vault.name, sent: 0 });
        continue;
      }
      copyExists ??= isFile(stagedCopy);
      if (!copyExists) {
        errors.push(`vault "${vault.name}": the staged copy is gone; run \`bt add\` on the file again`);
        continue;
      }
      const { sent } = await vault.putContent(contentId, stagedCopy, size);
      stored.push({ vault: vault.name, sent });
    } catch (err) {
      errors.push(`vault "${vault.name}": ${describeError(err)}`);
    }
  }
  return { stored, errors };
}

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
