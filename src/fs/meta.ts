// From stat to snapshot metadata, and the stat-only test of whether a file changed.
import type { BigIntStats } from 'node:fs';
import type { DirectoryMeta, FileMeta } from '../events/codecs.js';

export function metaFromStat(stat: BigIntStats, linkTarget: string | null): FileMeta {
  return {
    kind: stat.isSymbolicLink() ? 'symlink' : 'file',
    size: Number(stat.size),
    mode: Number(stat.mode & 0o7777n),
    uid: Number(stat.uid),
    gid: Number(stat.gid),
    atime_ns: stat.atimeNs.toString(),
    mtime_ns: stat.mtimeNs.toString(),
    ctime_ns: stat.ctimeNs.toString(),
    // Linux reports 0 when the filesystem keeps no birth time.
    birthtime_ns: stat.birthtimeNs > 0n ? stat.birthtimeNs.toString() : null,
    dev: stat.dev.toString(),
    ino: stat.ino.toString(),
    link_target: linkTarget,
  };
}

export function directoryMetaFromStat(stat: BigIntStats): DirectoryMeta {
  return { mode: Number(stat.mode & 0o7777n), uid: Number(stat.uid), gid: Number(stat.gid), mtime_ns: stat.mtimeNs.toString() };
}

/** The fields of a directory's metadata as one text: equal texts, unchanged directory (a scan compares 20k). */
export const directoryKey = (m: DirectoryMeta): string => `${m.mode} ${m.uid} ${m.gid} ${m.mtime_ns}`;
export const directoryKeyOf = (stat: BigIntStats): string => `${stat.mode & 0o7777n} ${stat.uid} ${stat.gid} ${stat.mtimeNs}`;

/**
 * `statKeyText` of this stat's snapshot metadata, written straight from the stat (a scan does this for every
 * file): equal to a stored key means unchanged.
 */
export function statKeyTextOf(stat: BigIntStats): string {
  return `${stat.isSymbolicLink() ? 'symlink' : 'file'} ${stat.size} ${stat.mode & 0o7777n} ${stat.mtimeNs} ${stat.ctimeNs} ${stat.ino}`;
}

/** True when `stat` matches a key from the projections (`statKeyText`). */
export const sameStat = (stat: BigIntStats, known: string): boolean => statKeyTextOf(stat) === known;

/** The stat fields that tell whether a file changed, in a form that crosses to a worker thread. */
export interface SeenStat {
  readonly kind: 'file' | 'symlink' | 'other';
  readonly size: bigint;
  readonly mtimeNs: bigint;
  readonly ctimeNs: bigint;
  readonly ino: bigint;
}

export const seenStat = (s: BigIntStats): SeenStat => ({
  kind: s.isFile() ? 'file' : s.isSymbolicLink() ? 'symlink' : 'other',
  size: s.size,
  mtimeNs: s.mtimeNs,
  ctimeNs: s.ctimeNs,
  ino: s.ino,
});

/** True when the bytes may differ: the file was written during a read (size or times moved). */
export function contentMayDiffer(before: SeenStat | BigIntStats, after: SeenStat | BigIntStats): boolean {
  return before.size !== after.size || before.mtimeNs !== after.mtimeNs || before.ctimeNs !== after.ctimeNs || before.ino !== after.ino;
}
