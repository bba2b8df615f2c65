// The staging area's layout: each staged copy (a file, or a directory of chunks) in one of 32 buckets named
// by the last character of its stage id. With one flat directory, two capture workers creating 20k copies
// in it took about half the time twice the system time, and ~2 s longer (ADR 0013).
import { type Dir, lstatSync, mkdirSync, opendirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Queries } from '../projections/queries.js';

/** Where the copy of a stage lives (stage ids are ULIDs: the last character spreads them evenly). */
export const stagedCopyPath = (stagingDir: string, stageId: string): string => join(stagingDir, stageId.slice(-1), stageId);

/** Makes the buckets of the stages about to be captured, once per process each. */
export class StagingBuckets {
  private readonly made = new Set<string>();

  constructor(private readonly stagingDir: string) {}

  /** The copy's path, its bucket made (owner-only, like the staging area). */
  prepare(stageId: string): string {
    const bucket = join(this.stagingDir, stageId.slice(-1));
    if (!this.made.has(bucket)) {
      mkdirSync(bucket, { recursive: true, mode: 0o700 });
      this.made.add(bucket);
    }
    return join(bucket, stageId);
  }
}

/** Names of the staging area looked up per query by the sweep below. */
const ORPHAN_PAGE = 1000;

/**
 * Staged copies the queue does not know (left by a killed run) are removed; the lock keeps this safe. Each
 * directory is read a page of names at a time: the area may hold every file of a large tree. A copy at the
 * top, where a bt before the buckets put it, is moved into its bucket if its stage is still queued.
 */
export function removeOrphanStagedCopies(stagingDir: string, queries: Pick<Queries, 'liveStageIds'>): number {
  const buckets: string[] = [];
  const older: string[] = [];
  let removed = sweepDirectory(stagingDir, queries, true, (name, isDir) => {
    if (isDir && name.length === 1) {
      buckets.push(name);
      return 'keep';
    }
    return 'check';
  }, (name) => older.push(name));
  // Moved once the directory is read: what a reader returns for a directory changed under it is unspecified.
  for (const name of older) moveIntoBucket(stagingDir, name);
  for (const bucket of buckets) removed += sweepDirectory(join(stagingDir, bucket), queries, true, () => 'check', () => {});
  return removed;
}

/**
 * Only the move of queued copies from the top into their buckets, nothing removed: for commands that read
 * staged copies without sweeping first (`bt check`'s repairs, `bt recover`).
 */
export function moveOlderStagedCopies(stagingDir: string, queries: Pick<Queries, 'liveStageIds'>): void {
  const older: string[] = [];
  sweepDirectory(stagingDir, queries, false, (name, isDir) => (isDir && name.length === 1 ? 'keep' : 'check'), (name) => older.push(name));
  for (const name of older) moveIntoBucket(stagingDir, name);
}

function moveIntoBucket(stagingDir: string, stageId: string): void {
  const bucket = join(stagingDir, stageId.slice(-1));
  // A file where the bucket goes can be no staged copy (stage ids are 26 characters): it gives way.
  if (lstatSync(bucket, { throwIfNoEntry: false })?.isDirectory() === false) rmSync(bucket, { force: true });
  mkdirSync(bucket, { recursive: true, mode: 0o700 });
  renameSync(join(stagingDir, stageId), join(bucket, stageId));
}

/**
 * Removes (if `removeOrphans`) the entries of `dir` that `classify` asks to check and that name no queued
 * stage; `live` is told of the others. Returns how many were removed.
 */
function sweepDirectory(
  dir: string,
  queries: Pick<Queries, 'liveStageIds'>,
  removeOrphans: boolean,
  classify: (name: string, isDir: boolean) => 'keep' | 'check',
  live: (name: string) => void,
): number {
  let handle: Dir;
  try {
    handle = opendirSync(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  const sweep = (names: string[]): void => {
    const queued = queries.liveStageIds(names);
    for (const name of names) {
      if (queued.has(name)) {
        live(name);
        continue;
      }
      if (!removeOrphans) continue;
      rmSync(join(dir, name), { force: true, recursive: true });
      removed++;
    }
  };
  try {
    let names: string[] = [];
    for (let entry = handle.readSync(); entry !== null; entry = handle.readSync()) {
      if (classify(entry.name, entry.isDirectory()) === 'keep') continue;
      names.push(entry.name);
      if (names.length === ORPHAN_PAGE) {
        sweep(names);
        names = [];
      }
    }
    sweep(names);
  } finally {
    handle.closeSync();
  }
  return removed;
}
