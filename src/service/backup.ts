// `bt backup`: every staged version goes to every vault, then becomes a snapshot; then the journal is synced.
import { chmodSync, readdirSync } from 'node:fs';
import { rm, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import pLimit from 'p-limit';
import { errnoCode, userError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import type { DomainEvent, FileMeta, StoredIn } from '../events/codecs.js';
import type { StagedOperation } from '../projections/queries.js';
import { CHUNK_THRESHOLD } from '../fs/chunker.js';
import { chunkFromFile, chunkSourceFrom } from '../vaults/chunked-content.js';
import { type ChunkSource, StagedCopyDamaged, type Vault, vaultProblem } from '../vaults/vault.js';
import type { Context, Reporter } from './context.js';
import { RETRY_UNAVAILABLE_MS, UnavailableVaults, answers } from './unavailable-vaults.js';
import { type CatchUp, catchUpVaults } from './vault-catch-up.js';
import { type SyncResult, syncJournal } from './journal-sync.js';
import { removeEmptyBuckets, removeOrphanStagedCopies } from './staging-area.js';
import { joinName, pathExists } from '../fs/paths.js';
import { makeDirs } from '../fs/make-dirs.js';
import { prepareFlushes } from '../fs/durable.js';

export interface BackupResult {
  readonly files: number;
  /** Bytes sent to vaults (each vault counted): for chunked content, the chunks a vault lacked. */
  readonly bytesSent: number;
  /** Bytes not sent because the vault already held the content (or those of its chunks). */
  readonly bytesDeduped: number;
  /** Staged versions left in place for the next run, with why. */
  readonly failed: readonly { path: string; reason: string }[];
  /** Stages dropped because their staged copy was lost (the next `bt add` stages the file again). */
  readonly dropped: readonly { path: string; reason: string }[];
  /** Vaults found unavailable, with how many versions were committed without them (ADR 0016). */
  readonly skipped: readonly { vault: string; problem: string; versions: number }[];
  /** Vaults that were brought up to the contents the others hold. */
  readonly caughtUp: readonly CatchUp[];
  readonly sync: readonly SyncResult[];
}

/**
 * Staged operations are read and committed in batches: one query, one vault flush and one transaction per
 * batch, so memory stays flat however much is staged and a crash loses at most a batch of work (redone).
 */
const BATCH_OPS = 2500;

/** What a vault took (`chunks`: of its manifest, when it holds the content chunked); bytes sent are known here. */
interface Stored extends StoredIn {
  readonly sent: number;
}

interface ContentOutcome {
  readonly stored: readonly Stored[];
  readonly errors: readonly string[];
  /** The staged copy was moved into a vault: nothing to remove after the commit. */
  readonly consumed: boolean;
  /** Vaults the projections said held the content that did not have it (or could not say): put again. */
  readonly gone: ReadonlySet<string>;
  /** A put found the staged copy gone (ENOENT). */
  readonly copyLost: boolean;
  /** A put found the staged copy damaged (see StagedCopyDamaged). */
  readonly copyDamaged: boolean;
}

export async function backup(ctx: Context): Promise<BackupResult> {
  removeOrphanStagedCopies(ctx.stagingDir, ctx.store.queries);
  const vaults = await ctx.vaults();
  // With no vault, "stored in every vault" would be vacuously true and staged copies would be dropped.
  if (vaults.length === 0) throw userError('no vault is configured', 'add one with `bt config vault add`; everything staged is kept');
  const q = ctx.store.queries;
  const total = q.stagedCount();
  // Nothing staged, nothing to flush: a backup with nothing to do starts no helper process.
  if (total > 0) {
    prepareFlushes();
    ctx.store.widenCacheForBatches();
  }
  const limit = pLimit(Math.max(1, ctx.config.backup.concurrency));
  const dirs = new Map(q.listDirectories().map((d) => [d.id, d.path]));
  const originalPath = (op: StagedOperation): string => joinName(dirs.get(op.directory_id) ?? '?', op.name);
  const unlinking = pLimit(8);
  let removing: Promise<unknown> = Promise.resolve();
  const failed: { path: string; reason: string }[] = [];
  const dropped: { path: string; reason: string }[] = [];
  /** Versions committed without each vault found unavailable. */
  const without = new Map<string, number>();
  const unavailable = new UnavailableVaults(() => ctx.clock.now());
  const kept = new KeptNotices(ctx.reporter);
  let files = 0;
  let bytesSent = 0;
  let bytesDeduped = 0;
  let done = 0;
  let lastSeq = 0;

  for (;;) {
    const batch = q.stagedPage(lastSeq, BATCH_OPS);
    if (batch.length === 0) break;
    lastSeq = batch[batch.length - 1]!.seq;
    const held = q.contentLocationsOf(batch.flatMap((op) => (op.content_id === null ? [] : [op.content_id])));
    // A content staged twice in one batch is stored once: later operations wait for the first upload.
    const uploads = new Map<string, Promise<ContentOutcome>>();
    const outcomes = await Promise.all(
      batch.map((op) =>
        limit(async () => {
          let upload: Promise<ContentOutcome> | undefined;
          let first = false;
          if (op.content_id !== null) {
            upload = uploads.get(op.content_id);
            if (!upload) {
              first = true;
              const contentId = op.content_id;
              const staged = ctx.stagedPath(op.stage_id);
              upload = (async () => {
                // The staged copy is the last copy bt has in hand: before it goes, each vault said to hold the
                // content is asked (a stat on disk, a HEAD on S3), and one that lost it gets it again.
                const gone = await absentFrom(vaults, held.get(contentId), contentId, op.size);
                const lacking = (v: Vault): boolean => !held.get(contentId)?.has(v.name) || gone.has(v.name);
                // Chunks in a staged directory are those `bt add` found some vault lacking (all of them, for a
                // file new here): a vault that holds the content takes the put too, and keeps its copy as it is
                // only when it has those chunks whole. Else a chunk lost since would stay lost, in hand.
                const confirming = op.size >= CHUNK_THRESHOLD && holdsChunks(staged) ? vaults.filter((v) => !lacking(v)) : [];
                const missing = vaults.filter((v) => lacking(v) || confirming.includes(v));
                const chunkSource = chunkSourceFrom(vaults, chunkFromFile(staged, contentId, originalPath(op)));
                const put = (to: readonly Vault[]) => storeContent(to, contentId, staged, op.size, chunkSource, unavailable, ctx.reporter);
                const outcome = await put(missing);
                // A vault that only confirmed its copy stored nothing: it is not recorded again. One whose put
                // failed (or was skipped) is not known to hold the content whole: it counts as not holding it,
                // so the version stays staged with the chunks in hand.
                const stored = outcome.stored.filter((s) => s.sent > 0 || !confirming.some((v) => v.name === s.vault));
                const unconfirmed = confirming.filter((v) => !outcome.stored.some((s) => s.vault === v.name)).map((v) => v.name);
                const notHolding = new Set([...gone, ...unconfirmed]);
                return { ...(outcome.copyLost ? await fetchBackAndPut(outcome, missing, vaults, contentId, staged, put) : { ...outcome, stored }), gone: notHolding };
              })();
              uploads.set(contentId, upload);
            }
          }
          const outcome: ContentOutcome = upload ? await upload : { stored: [], errors: [], consumed: false, gone: new Set(), copyLost: false, copyDamaged: false };
          done++;
          ctx.reporter.progress?.({ phase: 'backing up', files: done, totalFiles: total, bytes: bytesSent });
          return { op, outcome, first };
        }),
      ),
    );

    const events: DomainEvent[] = [];
    const committed: StagedOperation[] = [];
    const leftovers: string[] = [];
    for (const { op, outcome, first } of outcomes) {
      const contentId = op.content_id;
      // What vaults took for this content (only the first operation staging it in the batch uploads it).
      const stored = contentId !== null && first ? outcome.stored : [];
      for (const s of stored) {
        bytesSent += s.sent;
        bytesDeduped += Math.max(0, op.size - s.sent);
      }
      // A vault that held the content and stored a lost chunk of it again is counted once, with what it sent.
      const storedIn = new Set(stored.map((s) => s.vault));
      const stillHeld = [...(contentId === null ? [] : held.get(contentId) ?? [])].filter((v) => !outcome.gone.has(v) && !storedIn.has(v));
      const holders = new Set([...stillHeld, ...outcome.stored.map((s) => s.vault)]);
      // A later operation on the same content sends nothing: it is deduplicated in the vaults that hold it now.
      if (contentId !== null) bytesDeduped += op.size * (first ? stillHeld.length : holders.size);
      if (contentId !== null && !vaults.every((v) => holders.has(v.name)) && outcome.copyLost && outcome.stored.length === 0 && !pathExists(ctx.stagedPath(op.stage_id))) {
        // Kept staged, it would fail the same way every run, and `bt add` would skip the file as staged
        // already: the stage is dropped, so the next `bt add` stages the file (or records its deletion) again.
        events.push({ type: 'StageDropped', data: { stage_id: op.stage_id, file_id: op.file_id, reason: 'lost' } });
        const path = originalPath(op);
        dropped.push({ path, reason: 'its staged copy was lost: the stage is dropped; run `bt add` to stage the file again' });
        ctx.reporter.notice(`${path}: its staged copy was lost; the stage is dropped: run \`bt add\` to stage the file again`);
        continue;
      }
      if (contentId !== null && outcome.copyDamaged && holders.size === 0) {
        // No vault holds the content and the copy can never be stored: dropped, as a lost one is (its files
        // are then an orphan for the next sweep), so the next `bt add` stages the file again.
        events.push({ type: 'StageDropped', data: { stage_id: op.stage_id, file_id: op.file_id, reason: 'lost' } });
        const path = originalPath(op);
        dropped.push({ path, reason: 'its staged copy is damaged: the stage is dropped; run `bt add` to stage the file again' });
        ctx.reporter.notice(`${path}: its staged copy is damaged; the stage is dropped: run \`bt add\` to stage the file again`);
        continue;
      }
      // Committed once every vault holds the content, or at least one does and the others were found
      // unavailable in this run: those get it from the vaults that have it once they answer (ADR 0016).
      const enough = vaults.some((v) => holders.has(v.name)) && vaults.every((v) => holders.has(v.name) || unavailable.isDown(v.name));
      if (contentId !== null && !enough) {
        // Kept staged; what some vaults did store is recorded on its own.
        for (const s of stored) {
          events.push({ type: 'ContentStored', data: { content_id: contentId, vault: s.vault, size: op.size, sent: s.sent, chunks: s.chunks } });
        }
        const reason = outcome.errors.join('; ') || 'not stored';
        const path = originalPath(op);
        failed.push({ path, reason });
        kept.notice(path, reason);
        continue;
      }
      events.push(snapshotCommitted(ctx, op, stored));
      committed.push(op);
      if (contentId !== null) for (const v of vaults) if (!holders.has(v.name)) without.set(v.name, (without.get(v.name) ?? 0) + 1);
      if (!(first && outcome.consumed) && op.content_id !== null) leftovers.push(ctx.stagedPath(op.stage_id));
    }
    // Vault objects must be durable before the journal says they are stored.
    await Promise.all(vaults.map((v) => v.flush()));
    ctx.store.append(events);
    faultPoint('commit');
    // Committed, so these copies are orphans now (a crash leaves them to the next run's sweep). Unlinking a
    // file the disk just flushed waits on the filesystem's journal: on the thread pool, beside the next batch.
    // One batch's removals at a time, so what is held stays bounded by a batch.
    await removing;
    removing = Promise.all(leftovers.map((path) => unlinking(() => removeStagedCopy(path).catch((err: unknown) => ctx.reporter.notice(`${path}: not removed (${errnoCode(err) ?? String(err)}); the next run removes it`)))));
    files += committed.length;
  }
  await removing;
  removeEmptyBuckets(ctx.stagingDir);
  kept.summarize();
  const skipped = [...without].map(([vault, versions]) => ({ vault, problem: unavailable.reasonWhy(vault) ?? 'unavailable', versions }));
  for (const s of skipped) {
    ctx.reporter.notice(`vault "${s.vault}" is unavailable (${s.problem}): ${s.versions} version(s) committed without it; the next \`bt backup\` that reaches it copies them from the other vaults`);
  }
  const caughtUp = await catchUpVaults(ctx, vaults, unavailable);
  const sync = await syncJournal(ctx, vaults, unavailable);
  return { files, bytesSent, bytesDeduped, failed, dropped, skipped, caughtUp, sync };
}

function snapshotCommitted(ctx: Context, op: StagedOperation, stored: readonly Stored[]): DomainEvent {
  const meta: FileMeta = {
    kind: op.kind, size: op.size, mode: op.mode, uid: op.uid, gid: op.gid,
    atime_ns: op.atime_ns, mtime_ns: op.mtime_ns, ctime_ns: op.ctime_ns, birthtime_ns: op.birthtime_ns,
    dev: op.dev, ino: op.ino, link_target: op.link_target,
  };
  return {
    type: 'SnapshotCommitted',
    data: {
      snapshot_id: ctx.newId(), stage_id: op.stage_id, file_id: op.file_id, content_id: op.content_id, meta, staged_at: op.staged_at,
      stored: [...stored],
    },
  };
}

/**
 * Puts one content into each vault that lacks it; failures are collected per vault, not thrown. The last
 * vault may take the staged copy itself (or a chunk directory's chunk files), but only when every vault
 * before it stored the content. A vault found unavailable (see below) is skipped for a while.
 */
async function storeContent(
  vaults: readonly Vault[],
  contentId: string,
  stagedCopy: string,
  size: number,
  chunkSource: ChunkSource,
  unavailable: UnavailableVaults,
  reporter: Pick<Reporter, 'notice'>,
): Promise<Omit<ContentOutcome, 'gone'>> {
  const stored: Stored[] = [];
  const errors: string[] = [];
  let consumed = false;
  let copyLost = false;
  let copyDamaged = false;
  for (const [i, vault] of vaults.entries()) {
    const down = unavailable.reasonToSkip(vault.name);
    if (down !== undefined) {
      errors.push(`vault "${vault.name}": ${down}`);
      continue;
    }
    try {
      const consume = i === vaults.length - 1 && errors.length === 0;
      const r = await vault.putContent(contentId, stagedCopy, size, { consume, chunkSource });
      faultPoint('put');
      stored.push({ vault: vault.name, sent: r.sent, chunks: r.chunks ?? null });
      consumed = r.consumed === true;
      if (unavailable.up(vault.name)) reporter.notice(`vault "${vault.name}" answers again`);
    } catch (err) {
      // ENOENT from the vault's side (its directories gone with an unmounted disk) is the vault's problem.
      const gone = errnoCode(err) === 'ENOENT' && !pathExists(stagedCopy);
      copyLost ||= gone;
      copyDamaged ||= err instanceof StagedCopyDamaged;
      const problem = vaultProblem(vault.name, err);
      errors.push(`vault "${vault.name}": ${gone ? 'the staged copy is gone; run `bt add` on the file again' : problem}`);
      // A full disk takes no next file either; else only a vault that cannot even answer is skipped.
      // A read-only one (a disk remounted read-only after errors) neither.
      const full = errnoCode(err) === 'ENOSPC' || errnoCode(err) === 'EDQUOT' || errnoCode(err) === 'EROFS';
      if (!gone && (full || !(await answers(vault, contentId))) && unavailable.mark(vault.name, problem)) {
        reporter.notice(`vault "${vault.name}" is unavailable: the next files skip it (one tries it again every ${RETRY_UNAVAILABLE_MS / 1000} s)`);
      }
    }
  }
  return { stored, errors, consumed, copyLost, copyDamaged };
}

/**
 * The staged copy is gone, but a vault may hold the content: a run killed after the last vault took the copy
 * by rename, and before its commit, leaves it there. The copy is fetched back from such a vault (verified,
 * and renamed into place, so a killed fetch leaves no partial copy under the stage's name), then put where
 * the first attempt failed. With no vault holding it, the outcome stays as it was (the stage is dropped).
 */
async function fetchBackAndPut(
  first: Omit<ContentOutcome, 'gone'>,
  missing: readonly Vault[],
  vaults: readonly Vault[],
  contentId: string,
  stagedCopy: string,
  put: (to: readonly Vault[]) => Promise<Omit<ContentOutcome, 'gone'>>,
): Promise<Omit<ContentOutcome, 'gone'>> {
  const tookIt = new Set(first.stored.map((s) => s.vault));
  const lacking = missing.filter((v) => !tookIt.has(v.name));
  const fetchErrors: string[] = [];
  for (const holder of vaults) {
    if (lacking.includes(holder) || !(await holder.hasContent(contentId).catch(() => false))) continue;
    try {
      makeDirs(dirname(stagedCopy), 0o700);
      await holder.getContent(contentId, stagedCopy);
      // Read-only, as `bt add` leaves a staged copy: a filesystem vault takes it in by rename as its object.
      chmodSync(stagedCopy, 0o400);
    } catch (err) {
      fetchErrors.push(`fetching it back from vault "${holder.name}" failed: ${vaultProblem(holder.name, err)}`);
      continue;
    }
    const again = await put(lacking);
    return { ...again, stored: [...first.stored, ...again.stored] };
  }
  return { ...first, errors: [...first.errors, ...fetchErrors] };
}

/**
 * Of the vaults the projections say hold a content, those that do not have it now (a lost or re-created
 * vault, a deleted object); a vault that cannot answer counts as not having it, so the staged copy is kept.
 */
/** Whether a staged copy is a chunk directory with chunk files in it (beside its manifest). */
function holdsChunks(staged: string): boolean {
  try {
    return readdirSync(staged).length > 1;
  } catch {
    return false;
  }
}

/** Vaults said to hold the content that lack it now: no object, or one of another length (cut short). */
async function absentFrom(vaults: readonly Vault[], heldBy: ReadonlySet<string> | undefined, contentId: string, size: number): Promise<Set<string>> {
  const gone = new Set<string>();
  if (!heldBy) return gone;
  for (const vault of vaults) {
    if (!heldBy.has(vault.name)) continue;
    if (!(await vault.hasContent(contentId, size).catch(() => false))) gone.add(vault.name);
  }
  return gone;
}


/** "kept staged" notices: the first few per reason, then one line with how many more (a vault that is down fails every file). */
class KeptNotices {
  private readonly counts = new Map<string, number>();

  constructor(private readonly reporter: Pick<Reporter, 'notice'>) {}

  notice(path: string, reason: string): void {
    const n = (this.counts.get(reason) ?? 0) + 1;
    this.counts.set(reason, n);
    if (n <= KeptNotices.SHOWN) this.reporter.notice(`${path}: kept staged: ${reason}`);
  }

  summarize(): void {
    for (const [reason, n] of this.counts) {
      if (n > KeptNotices.SHOWN) this.reporter.notice(`... and ${n - KeptNotices.SHOWN} more file(s) kept staged: ${reason}`);
    }
  }

  private static readonly SHOWN = 3;
}

/** A staged file, or what a vault left of a chunk directory (it may have moved some chunk files in). */
async function removeStagedCopy(path: string): Promise<void> {
  try {
    await unlink(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EISDIR' || code === 'EPERM') await rm(path, { force: true, recursive: true });
    else if (code !== 'ENOENT') throw err;
  }
}
