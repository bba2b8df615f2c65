// What a walk finds different from the recorded directories: shared by `bt add` (which records it) and
// `bt dir status` (which shows it).
import type { BigIntStats } from 'node:fs';
import type { DirectoryMeta } from '../events/codecs.js';
import { directoryKey, directoryKeyOf, directoryMetaFromStat } from '../fs/meta.js';
import { isGoneAsDirectory } from '../fs/paths.js';
import type { Directory, Queries } from '../projections/queries.js';

export interface ChangedDirectory {
  readonly name: string;
  readonly meta: DirectoryMeta;
  /** Never recorded (or recorded removed): new to bt, as opposed to its mode, owner or mtime changed. */
  readonly isNew: boolean;
}

export interface DirectoryChangeSet {
  /** New, or whose mode, owner or mtime a tree restore would get wrong from what is recorded. */
  readonly changed: readonly ChangedDirectory[];
  /** Recorded and gone (not merely passed over: ignored, unreadable or bt's own are still there). */
  readonly removed: readonly string[];
}

const isUnderName = (name: string, under: string): boolean => under === '' || name === under || name.startsWith(`${under}/`);

/** Feed it every directory the walk of `start` reports (`seen`), then ask for the changes (`finish`). */
export class DirectoryChanges {
  /** The recorded key of each directory the walk has not reported yet. */
  private readonly recorded: Map<string, string>;
  private readonly changed: ChangedDirectory[] = [];

  /** Whether any directory is recorded at or below the start (a start gone from disk still has work then). */
  readonly anyRecorded: boolean;

  constructor(
    private readonly q: Queries,
    private readonly directory: Directory,
    private readonly start: string,
  ) {
    this.recorded = q.directoryMeta.keysUnder(directory, start);
    this.anyRecorded = this.recorded.size > 0;
    if (start !== '') {
      // The walk reports the start's directory too (see walk.ts): its mtime changed with the start.
      const parent = start.includes('/') ? start.slice(0, start.lastIndexOf('/')) : '';
      const meta = q.directoryMeta.of(directory, parent);
      if (meta) this.recorded.set(parent, directoryKey(meta));
    }
  }

  readonly seen = (name: string, stat: BigIntStats): void => {
    const known = this.recorded.get(name);
    this.recorded.delete(name);
    if (known !== directoryKeyOf(stat)) this.changed.push({ name, meta: directoryMetaFromStat(stat), isNew: known === undefined });
  };

  finish(): DirectoryChangeSet {
    const root = this.directory.path;
    const removed = [...this.recorded.keys()].filter((name) => isGoneAsDirectory(root, name));
    // The start's directory gone too: so is everything recorded below it, not only the start.
    const parentGone = removed.find((name) => !isUnderName(name, this.start));
    if (parentGone !== undefined) {
      for (const name of this.q.directoryMeta.keysUnder(this.directory, parentGone).keys()) {
        if (name !== parentGone && !this.recorded.has(name) && isGoneAsDirectory(root, name)) removed.push(name);
      }
    }
    return { changed: this.changed, removed };
  }
}
