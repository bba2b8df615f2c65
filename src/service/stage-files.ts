// `bt add`: stage what changed under a path (stat-only for unchanged files) and record what disappeared.
import { type BigIntStats, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync } from 'node:fs';
import { errnoCode, userError } from '../core/errors.js';
import type { DomainEvent, EventOf } from '../events/codecs.js';
import { captureFile } from '../fs/capture.js';
import { flushFilesystem } from '../fs/durable.js';
import { IgnoreRules } from '../fs/ignore-rules.js';
import { metaFromStat, sameStat } from '../fs/meta.js';
import { joinName, nameWithin, pathExists } from '../fs/paths.js';
import { type WalkEntry, walk } from '../fs/walk.js';
import type { Directory, TrackedFile } from '../projections/queries.js';
import type { Context } from './context.js';
import { btOwnPaths } from './own-paths.js';

export interface StageResult {
  readonly directory: string;
  readonly staged: number;
  readonly stagedBytes: number;
  readonly unchanged: number;
  readonly deleted: number;
  /** Files that should have been staged but could not be (unreadable, kept changing). */
  readonly skipped: readonly { path: string; reason: string }[];
}

/** Events are appended in batches this large (or this many bytes), after one flush of the staged copies. */
const BATCH_FILES = 1000;
const BATCH_BYTES = 256 * 1024 * 1024;
const CAPTURE_ATTEMPTS = 3;

export async function stageFiles(ctx: Context, abs: string): Promise<StageResult> {
  const q = ctx.store.queries;
  const directory = q.searchDirectoryForPath(abs);
  if (!directory) {
    throw userError(`${abs} is not inside a tracked directory`, 'run `bt dir init` in the directory you want to back up');
  }
  const start = nameWithin(directory.path, abs);
  const known = q.trackedFiles(directory, start);
  if (!pathExists(abs) && known.size === 0) throw userError(`no such file or directory: ${abs}`);

  mkdirSync(ctx.stagingDir, { recursive: true, mode: 0o700 });
  removeOrphanStagedCopies(ctx);

  const batch = new Batch(ctx);
  const skipped: { path: string; reason: string }[] = [];
  const seen = new Set<string>();
  let unchanged = 0;
  let staged = 0;
  let stagedBytes = 0;

  const entries = walk({
    root: directory.path,
    start,
    rules: IgnoreRules.global(ctx.config.fs.ignore),
    exclude: new Set(btOwnPaths(ctx.config)),
    notice: (n) => {
      if (n.skipped) skipped.push({ path: n.path, reason: n.reason });
      ctx.reporter.notice(`${n.path}: ${n.reason}`);
    },
  });
  for (const entry of entries) {
    seen.add(entry.name);
    const prior = known.get(entry.name);
    const reference = prior && !prior.file.deleted ? (prior.staged ?? prior.current) : null;
    if (reference && sameStat(entry.stat, reference)) {
      unchanged++;
      continue;
    }
    const outcome = await stageOne(ctx, directory, entry, prior);
    if (outcome.kind === 'gone') {
      seen.delete(entry.name);
      continue;
    }
    if (outcome.kind === 'skipped') {
      skipped.push({ path: entry.abs, reason: outcome.reason });
      ctx.reporter.notice(`${entry.abs}: ${outcome.reason}`);
      continue;
    }
    staged++;
    stagedBytes += outcome.bytes;
    await batch.add(outcome.events, outcome.stagedCopy, outcome.bytes, outcome.dropped);
    ctx.reporter.progress?.({ phase: 'staging', files: staged, bytes: stagedBytes });
  }

  let deleted = 0;
  for (const [name, prior] of known) {
    if (seen.has(name) || prior.file.deleted || (!prior.current && !prior.staged)) continue;
    // Not seen may mean ignored or unreadable now: only a path that is really gone is a deletion.
    if (pathExists(joinName(directory.path, name))) continue;
    deleted++;
    await batch.add([{ type: 'FileDeleted', data: { file_id: prior.file.id, directory_id: directory.id, name } }], null, 0, null);
  }
  await batch.commit();
  return { directory: directory.path, staged, stagedBytes, unchanged, deleted, skipped };
}

type Outcome =
  | { kind: 'staged'; events: DomainEvent[]; stagedCopy: string | null; bytes: number; dropped: string | null }
  | { kind: 'skipped'; reason: string }
  | { kind: 'gone' };

async function stageOne(ctx: Context, directory: Directory, entry: WalkEntry, prior: TrackedFile | undefined): Promise<Outcome> {
  const file_id = prior?.file.id ?? ctx.newId();
  const stage_id = ctx.newId();
  const events: DomainEvent[] = [];
  if (prior?.staged) {
    events.push({ type: 'StageDropped', data: { stage_id: prior.staged.stage_id, file_id, reason: 'superseded' } });
  }
  const dropped = prior?.staged ? ctx.stagedPath(prior.staged.stage_id) : null;
  const base = { stage_id, file_id, directory_id: directory.id, name: entry.name };

  if (entry.stat.isSymbolicLink()) {
    let target: string;
    try {
      target = readlinkSync(entry.abs);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { kind: 'gone' };
      return { kind: 'skipped', reason: `cannot read link (${errnoCode(err) ?? 'error'})` };
    }
    const staged: EventOf<'FileStaged'> = { type: 'FileStaged', data: { ...base, content_id: null, meta: metaFromStat(entry.stat, target) } };
    return { kind: 'staged', events: [...events, staged], stagedCopy: null, bytes: 0, dropped };
  }

  const dest = ctx.stagedPath(stage_id);
  let stat: BigIntStats = entry.stat;
  for (let attempt = 1; attempt <= CAPTURE_ATTEMPTS; attempt++) {
    try {
      const result = await captureFile(entry.abs, dest, stat);
      if (result.ok) {
        const staged: EventOf<'FileStaged'> = {
          type: 'FileStaged',
          data: { ...base, content_id: result.contentId, meta: metaFromStat(result.stat, null) },
        };
        return { kind: 'staged', events: [...events, staged], stagedCopy: dest, bytes: Number(result.stat.size), dropped };
      }
    } catch (err) {
      rmSync(dest, { force: true });
      const code = errnoCode(err);
      if (code === 'ENOENT') return { kind: 'gone' };
      if (code !== 'ELOOP') return { kind: 'skipped', reason: `cannot read (${code ?? String(err)})` };
    }
    rmSync(dest, { force: true });
    // Changed while read (or replaced): look again and retry with what is there now.
    try {
      stat = lstatSync(entry.abs, { bigint: true });
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return { kind: 'gone' };
      return { kind: 'skipped', reason: `cannot stat (${errnoCode(err) ?? 'error'})` };
    }
    if (!stat.isFile()) return stageOne(ctx, directory, { ...entry, stat }, prior);
  }
  return { kind: 'skipped', reason: `kept changing while being read (tried ${CAPTURE_ATTEMPTS} times); not staged` };
}

/** Collects events and staged copies; a commit makes the copies durable first, then appends the events. */
class Batch {
  private events: DomainEvent[] = [];
  private copies: string[] = [];
  private dropped: string[] = [];
  private bytes = 0;

  constructor(private readonly ctx: Context) {}

  async add(events: DomainEvent[], copy: string | null, bytes: number, dropped: string | null): Promise<void> {
    this.events.push(...events);
    if (copy) this.copies.push(copy);
    if (dropped) this.dropped.push(dropped);
    this.bytes += bytes;
    if (this.events.length >= BATCH_FILES || this.bytes >= BATCH_BYTES) await this.commit();
  }

  async commit(): Promise<void> {
    if (this.events.length === 0) return;
    // The copies must be on disk before the journal says they are staged.
    await flushFilesystem(this.ctx.stagingDir, this.copies);
    this.ctx.store.append(this.events);
    for (const path of this.dropped) rmSync(path, { force: true });
    this.events = [];
    this.copies = [];
    this.dropped = [];
    this.bytes = 0;
  }
}

/** Staged copies the queue does not know (left by a killed run) are removed; the lock keeps this safe. */
export function removeOrphanStagedCopies(ctx: Context): number {
  let names: string[];
  try {
    names = readdirSync(ctx.stagingDir);
  } catch {
    return 0;
  }
  const live = new Set(ctx.store.queries.stagedOperations().map((s) => s.stage_id));
  let removed = 0;
  for (const name of names) {
    if (live.has(name)) continue;
    rmSync(ctx.stagedPath(name), { force: true, recursive: true });
    removed++;
  }
  return removed;
}

