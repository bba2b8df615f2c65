// The stat fields a scan compares to decide "unchanged" without opening a file, as one text.
import type { FileMeta } from '../events/codecs.js';

/** Size, mtime, ctime, inode, mode and kind: equal means "unchanged, do not even open it". */
export type StatKey = Pick<FileMeta, 'kind' | 'size' | 'mtime_ns' | 'ctime_ns' | 'ino' | 'mode'>;

/**
 * The key as one string, kept so in the files projection: a scan of 20k files then reads one column per
 * file instead of six (a third less time in the page query) and compares once. Fields are decimal and
 * space-separated, none holds a space, so equal texts mean equal fields. `statKeyTextOf` (fs/meta.ts)
 * must write the same text from a stat.
 */
export const statKeyText = (k: StatKey): string => `${k.kind} ${k.size} ${k.mode} ${k.mtime_ns} ${k.ctime_ns} ${k.ino}`;
