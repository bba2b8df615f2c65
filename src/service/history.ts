// `bt log`: the versions of one file, newest first, with what changed between them and where they are kept.
import type { Snapshot } from '../projections/queries.js';
import type { Context } from './context.js';
import { locateFile } from './locate.js';

export interface Version {
  /** 1 is the oldest: a number never changes as versions are added. */
  readonly number: number;
  readonly snapshot: Snapshot;
  /** What differs from the previous version, e.g. "content", "mode 644 -> 600", "mtime". */
  readonly changes: readonly string[];
  readonly vaults: readonly string[];
}

export interface History {
  readonly path: string;
  readonly deleted: boolean;
  readonly deletedAt: string | null;
  /** Newest first. */
  readonly versions: readonly Version[];
  readonly pendingSince: string | null;
}

export function fileHistory(ctx: Context, abs: string): History {
  const { file } = locateFile(ctx, abs);
  const q = ctx.store.queries;
  const snapshots = q.findFileSnapshotsForFile(file);
  const versions = snapshots.map((s, i) => ({
    number: i + 1,
    snapshot: s,
    changes: describeChanges(snapshots[i - 1], s),
    vaults: s.content_id === null ? ['(journal)'] : q.contentLocations(s.content_id),
  }));
  return {
    path: abs,
    deleted: file.deleted,
    deletedAt: file.deleted_at,
    versions: versions.reverse(),
    pendingSince: q.findStagedForFile(file.id)?.staged_at ?? null,
  };
}

const octal = (mode: number): string => mode.toString(8).padStart(3, '0');

export function describeChanges(prev: Snapshot | undefined, cur: Snapshot): string[] {
  if (!prev) return ['first version'];
  const out: string[] = [];
  if (prev.kind !== cur.kind) out.push(`${prev.kind} -> ${cur.kind}`);
  if (prev.content_id !== cur.content_id || prev.link_target !== cur.link_target) out.push('content');
  if (prev.size !== cur.size) out.push(`size ${prev.size} -> ${cur.size}`);
  if (prev.mode !== cur.mode) out.push(`mode ${octal(prev.mode)} -> ${octal(cur.mode)}`);
  if (prev.uid !== cur.uid || prev.gid !== cur.gid) out.push(`owner ${prev.uid}:${prev.gid} -> ${cur.uid}:${cur.gid}`);
  if (prev.mtime_ns !== cur.mtime_ns) out.push('mtime');
  if (prev.atime_ns !== cur.atime_ns) out.push('atime');
  if (prev.ctime_ns !== cur.ctime_ns) out.push('ctime');
  return out.length > 0 ? out : ['no change'];
}
