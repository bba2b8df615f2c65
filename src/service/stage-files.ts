// `bt add`: stage what changed under a path (stat-only for unchanged files) and record what disappeared.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { userError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import type { DomainEvent } from '../events/codecs.js';
import type { CaptureJob, CaptureResult } from '../fs/capture.js';
import { chunkThreshold } from '../fs/chunker.js';
import { CapturePool } from '../fs/capture-pool.js';
import { flushFilesystem, prepareFlushes } from '../fs/durable.js';
import { sameStat, seenStat } from '../fs/meta.js';
import { isGoneAsFile, joinName, pathExists } from '../fs/paths.js';
import type { WalkEntry } from '../fs/walk.js';
import { type NamedTrackedFile, type TrackedFile, isLiveFile } from '../projections/queries.js';
import type { Context } from './context.js';
import { DirectoryChanges } from './directory-changes.js';
import { KnownFiles } from './known-files.js';
import { locateDirectory } from './locate.js';
import { StagingBuckets, removeOrphanStagedCopies } from './staging-area.js';
import { chunksInEveryVault, currentContentOf } from './stored-chunks.js';
import { refuseUnmountedRoot, walkTracked } from './tracked-walk.js';
import { makeDirs } from '../fs/make-dirs.js';

export interface StageResult {
  readonly directory: string;
  readonly staged: number;
  readonly stagedBytes: number;
  readonly unchanged: number;
  readonly deleted: number;
  /** Directories whose metadata was recorded (new or changed) or whose removal was. */
  readonly directories: number;
  /** Files that should have been staged but could not be (unreadable, kept changing). */
  readonly skipped: readonly { path: string; reason: string }[];
  /** Passed over on purpose, with why (sockets, FIFOs, devices): nothing of theirs is lost. */
  readonly passedOver: readonly { path: string; reason: string }[];
}

/** Events are appended in batches this large (or this many bytes), after one flush of the staged copies. */
const BATCH_FILES = 4000;
const BATCH_BYTES = 256 * 1024 * 1024;
/**
 * Files (or bytes) per message to a capture worker, and batches in flight per worker. A large file goes
 * in a message of its own: large files then run on every worker at once, and each is committed (its
 * staging flush started) as soon as it is captured, while the next is still being read.
 */
const JOBS_PER_MESSAGE = 64;
const BYTES_PER_MESSAGE = 64 * 1024 * 1024;
const IN_FLIGHT = 4;

interface Change {
  readonly entry: WalkEntry;
  readonly prior: TrackedFile | undefined;
  readonly stageId: string;
}

export async function stageFiles(ctx: Context, abs: string): Promise<StageResult> {
  const q = ctx.store.queries;
  const { directory, name: start } = locateDirectory(ctx, abs);
  // Files the walk went past (or found gone when capturing them): deletions, if really gone (see below).
  const unseen: NamedTrackedFile[] = [];
  const known = new KnownFiles(q, directory, start, (f) => {
    if (isLiveFile(f)) unseen.push(f);
  });
  refuseUnmountedRoot(directory.path, q.recordedDevice(directory));
  const dirs = new DirectoryChanges(q, directory, start);
  if (!pathExists(abs) && known.isEmpty() && !dirs.anyRecorded) throw userError(`no such file or directory: ${abs}`);

  makeDirs(ctx.stagingDir, 0o700);
  removeOrphanStagedCopies(ctx.stagingDir, q);

  const batch = new Batch(ctx);
  const pool = new CapturePool();
  const skipped: { path: string; reason: string }[] = [];
  const passedOver: { path: string; reason: string }[] = [];
  let unchanged = 0;
  let staged = 0;
  let stagedBytes = 0;

  const record = async (changes: readonly Change[], results: readonly CaptureResult[]): Promise<void> => {
    for (const [i, change] of changes.entries()) {
      const r = results[i]!;
      if (r.kind === 'gone') {
        const { prior } = change;
        if (prior && isLiveFile(prior)) unseen.push({ ...prior, name: change.entry.name });
        continue;
      }
      if (r.kind === 'staging-failed') throw new StagingFailed(r.code);
      if (r.kind === 'skipped') {
        skipped.push({ path: change.entry.abs, reason: r.reason });
        ctx.reporter.notice(`${change.entry.abs}: ${r.reason}`);
        continue;
      }
      const { entry, prior, stageId } = change;
      const file_id = prior?.fileId ?? ctx.newId();
      const events: DomainEvent[] = [];
      if (prior?.staged) {
        events.push({ type: 'StageDropped', data: { stage_id: prior.staged.stage_id, file_id, reason: 'superseded' } });
      }
      events.push({
        type: 'FileStaged',
        data: { stage_id: stageId, file_id, directory_id: directory.id, name: entry.name, content_id: r.contentId, meta: r.meta },
      });
      faultPoint('stage');
      staged++;
      stagedBytes += r.meta.size;
      await batch.add(events, r.copied ? stagedFiles(ctx.stagedPath(stageId), r.chunks) : [], r.meta.size, prior?.staged ? ctx.stagedPath(prior.staged.stage_id) : null);
      ctx.reporter.progress?.({ phase: 'staging', files: staged, bytes: stagedBytes });
    }
  };

  // A large file that changed: the chunks of its backed-up version need not be staged again.
  const threshold = chunkThreshold();
  const previousChunks = async (c: Change): Promise<readonly string[] | undefined> => {
    if (c.entry.stat.size < BigInt(threshold) || !c.prior?.current || c.prior.deleted) return undefined;
    const contentId = currentContentOf(ctx, c.prior.fileId);
    return contentId === null ? undefined : chunksInEveryVault(ctx, contentId);
  };

  const buckets = new StagingBuckets(ctx.stagingDir);
  const inflight = new Set<Promise<void>>();
  let failure: { err: unknown } | undefined;
  const dispatch = async (changes: Change[]): Promise<void> => {
    // Before the first capture starts the worker threads (see prepareFlushes); an unchanged tree starts none.
    prepareFlushes();
    const jobs = await Promise.all(
      changes.map(async (c): Promise<CaptureJob> => {
        const job = { src: c.entry.abs, dest: buckets.prepare(c.stageId), seen: seenStat(c.entry.stat) };
        const stored = await previousChunks(c);
        return stored && stored.length > 0 ? { ...job, stored } : job;
      }),
    );
    const work = pool.run(jobs).then((results) => record(changes, results));
    inflight.add(work);
    // A failed batch leaves the set when it settles: its error is kept and thrown once the walk ends.
    void work.then(
      () => inflight.delete(work),
      (err: unknown) => {
        inflight.delete(work);
        failure ??= { err };
      },
    );
    if (inflight.size >= IN_FLIGHT) await Promise.race(inflight);
  };

  try {
    let pending: Change[] = [];
    let pendingBytes = 0;
    const entries = walkTracked(
      ctx,
      directory.path,
      start,
      (n) => {
        (n.skipped ? skipped : passedOver).push({ path: n.path, reason: n.reason });
        ctx.reporter.notice(`${n.path}: ${n.reason}`);
      },
      dirs.seen,
    );
    for (const entry of entries) {
      const prior = known.lookup(entry.name);
      const reference = prior && !prior.deleted ? (prior.staged?.stat ?? prior.current) : null;
      if (reference && sameStat(entry.stat, reference)) {
        unchanged++;
        continue;
      }
      pending.push({ entry, prior, stageId: ctx.newId() });
      pendingBytes += Number(entry.stat.size);
      if (pending.length >= JOBS_PER_MESSAGE || pendingBytes >= BYTES_PER_MESSAGE) {
        await dispatch(pending);
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length > 0) await dispatch(pending);
    known.finish();
    await Promise.all(inflight);
    if (failure) throw failure.err;
  } catch (err) {
    // What was captured before the failure is whole: keeping it is progress even when the staging area is
    // smaller than one batch (back it up, then add again). Deletions are not recorded: the walk did not end.
    await pool.close();
    const kept = await batch.commit().then(
      () => staged,
      () => 0,
    );
    if (err instanceof StagingFailed) throw stagingFailedError(ctx.stagingDir, err.code, kept);
    throw err;
  } finally {
    await pool.close();
  }

  let deleted = 0;
  // A record can be here twice (passed by the walk, then found gone by its capture) if the cursor ever
  // fell back to looking names up one by one.
  const recorded = new Set<string>();
  for (const { name, fileId } of unseen) {
    if (recorded.has(fileId)) continue;
    recorded.add(fileId);
    // Not seen may mean ignored or unreadable now: only a path that is really gone is a deletion.
    if (!isGoneAsFile(joinName(directory.path, name))) continue;
    deleted++;
    await batch.add([{ type: 'FileDeleted', data: { file_id: fileId, directory_id: directory.id, name } }], [], 0, null);
  }
  const { changed, removed } = dirs.finish();
  for (const { name, meta } of changed) {
    await batch.add([{ type: 'DirectoryMetaRecorded', data: { directory_id: directory.id, name, meta } }], [], 0, null);
  }
  for (const name of removed) {
    await batch.add([{ type: 'DirectoryRemoved', data: { directory_id: directory.id, name } }], [], 0, null);
  }
  await batch.commit();
  return { directory: directory.path, staged, stagedBytes, unchanged, deleted, directories: changed.length + removed.length, skipped, passedOver };
}

class StagingFailed extends Error {
  constructor(readonly code: string) {
    super(`staging failed (${code})`);
  }
}

function stagingFailedError(stagingDir: string, code: string, kept: number): Error {
  const full = code === 'ENOSPC' || code === 'EDQUOT';
  const keptText = kept > 0 ? `the ${kept} file${kept === 1 ? '' : 's'} staged before it ${full ? 'filled' : 'failed'} were kept` : 'nothing staged before was lost';
  return userError(
    `${full ? 'no space left on' : 'cannot write to'} the staging area ${stagingDir} (${code})`,
    full
      ? `${keptText}; run \`bt backup\` to move staged files to the vaults, or free some space, then run \`bt add\` again`
      : `check that it is writable; ${keptText}`,
  );
}

/**
 * Collects events and staged copies; a commit makes the copies durable first, then appends the events.
 * Commits run one after another in the background while capture goes on (the flush waits for the disk);
 * a caller waits only when two commits are already queued, which bounds the memory held.
 */
class Batch {
  private events: DomainEvent[] = [];
  private copies: string[] = [];
  private dropped: string[] = [];
  private bytes = 0;
  private chain: Promise<void> = Promise.resolve();
  private queued = 0;

  constructor(private readonly ctx: Context) {}

  add(events: DomainEvent[], copies: readonly string[], bytes: number, dropped: string | null): Promise<void> {
    this.events.push(...events);
    this.copies.push(...copies);
    if (dropped) this.dropped.push(dropped);
    this.bytes += bytes;
    if (this.events.length < BATCH_FILES && this.bytes < BATCH_BYTES) return Promise.resolve();
    const committed = this.commit();
    return this.queued >= 2 ? committed : Promise.resolve();
  }

  /** Queues a commit of what was collected; the returned promise settles when every queued commit has. */
  commit(): Promise<void> {
    const events = this.events;
    const copies = this.copies;
    const dropped = this.dropped;
    this.events = [];
    this.copies = [];
    this.dropped = [];
    this.bytes = 0;
    this.queued++;
    this.chain = this.chain.then(async () => {
      try {
        if (events.length === 0) return;
        // The copies must be on disk before the journal says they are staged.
        await flushFilesystem(this.ctx.stagingDir, copies);
        this.ctx.store.append(events);
        for (const path of dropped) rmSync(path, { force: true, recursive: true });
      } finally {
        this.queued--;
      }
    });
    // A failed commit is reported by the next await of the chain (the final commit), not as unhandled.
    this.chain.catch(() => {});
    return this.chain;
  }
}

/**
 * What the staging flush must make durable for one staged copy: the file, or for a chunk directory every
 * file in it and the directory itself (so its entry in the staging area is durable too).
 */
function stagedFiles(path: string, chunks: number | null): string[] {
  if (chunks === null) return [path];
  return [...readdirSync(path).map((name) => join(path, name)), path];
}

/** `name` is `under` or below it (names relative to one tracked directory; '' is the whole of it). */
