// Writing one restored file: verified bytes under a temporary name beside the target, its metadata, then
// a rename, so the target never holds unverified or partial bytes. Synchronous and free of the database:
// restore workers run it for small files (restore-pool.ts), `bt restore` for every file.
import { crypto } from '../core/lazy-builtin.js';
import {
  chmodSync, chownSync, closeSync, constants, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, lstatSync, lutimesSync,
  openSync, readSync, readdirSync, renameSync, rmSync, utimesSync, writeSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { describeError, errnoCode, userError } from '../core/errors.js';
import { nsToUtime } from '../core/time.js';
import type { DirectoryMeta } from '../events/codecs.js';

/** What restore puts back besides the bytes. */
export interface RestoredMeta {
  readonly kind: string;
  readonly mode: number;
  readonly uid: number;
  readonly gid: number;
  readonly atime_ns: string;
  readonly mtime_ns: string;
}

/**
 * Random per thread, counted per file: a fresh random draw for each of 20k files showed in profiles. The
 * random part is followed by a tag derived from it, so a name proves itself bt's: a user's own file named
 * like one (`.bt-restore-abcdef0123`) was left out of backups and later swept away as abandoned.
 */
let tmpPrefix: string | undefined;
let tmpCount = 0;

const tagOf = (random: string): string => crypto().createHash('sha256').update(`bt restore temporary ${random}`).digest('hex').slice(0, 8);

/**
 * A temporary name to restore a file under: hidden, beside the target, unique (a killed restore leaves it; a
 * later one never reuses it). Short and not made from the target's name: any name bt backed up (up to the
 * filesystem's 255 bytes) must be restorable, and a vault's own temporary may be made from this one.
 */
const TEMPORARY_NAME = /^\.bt-restore-([0-9a-f]{8})([0-9a-f]{8})[0-9a-z]+$/;

/**
 * Whether a name is one restoreTmpPath made: bt's own, never backed up, swept once surely abandoned. The
 * tag makes a chance match by a user's file about one in four billion.
 */
export function isRestoreTemporary(name: string): boolean {
  const m = TEMPORARY_NAME.exec(name);
  return m !== null && tagOf(m[1]!) === m[2];
}

/**
 * The names a bt before the tag made (`.bt-restore-` and 9+ hex/base-36 digits). Only in the staging area,
 * which holds nothing of the user's, may they be taken for bt's own: a killed catch-up's or fetch-back's.
 */
export const isOlderRestoreTemporary = (name: string): boolean => /^\.bt-restore-[0-9a-f]{8}[0-9a-z]+$/.test(name);

/** A temporary unchanged this long belongs to no restore under way: each write and each metadata change set its ctime. */
const ABANDONED_AFTER_MS = 10 * 60 * 1000;

/**
 * Removes what killed restores left in `dir`: temporaries whose ctime (not mtime: a temporary gets the
 * restored file's old mtime before its rename) is older than `before` (ms). Housekeeping only: what cannot
 * be read or removed is left, silently.
 */
export function sweepRestoreTemporaries(dir: string, before = Date.now() - ABANDONED_AFTER_MS): void {
  try {
    for (const name of readdirSync(dir)) {
      if (!isRestoreTemporary(name)) continue;
      const path = join(dir, name);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st && !st.isDirectory() && st.ctimeMs < before) rmSync(path, { force: true });
    }
  } catch {
    /* left for a later restore */
  }
}

export function restoreTmpPath(output: string): string {
  if (tmpPrefix === undefined) {
    const random = crypto().randomBytes(4).toString('hex');
    tmpPrefix = `${random}${tagOf(random)}`;
  }
  return join(dirname(output), `.bt-restore-${tmpPrefix}${(tmpCount++).toString(36)}`);
}

/** chown fails with EPERM for anyone but root: that is a warning, not a failed restore. */
function chownOrWarn(s: { readonly uid: number; readonly gid: number }, chown: (uid: number, gid: number) => void, warnings: string[]): void {
  try {
    chown(s.uid, s.gid);
  } catch (err) {
    if (errnoCode(err) !== 'EPERM') throw err;
    warnings.push(`owner ${s.uid}:${s.gid} not restored (needs privileges)`);
  }
}

/** Owner (when privileged), mode and times; what could not be set is added to `warnings`. */
export function applyMetadata(s: RestoredMeta, path: string, warnings: string[]): void {
  const link = s.kind === 'symlink';
  chownOrWarn(s, (uid, gid) => (link ? lchownSync : chownSync)(path, uid, gid), warnings);
  if (!link) chmodSync(path, s.mode); // chown may clear setuid/setgid bits
  (link ? lutimesSync : utimesSync)(path, nsToUtime(s.atime_ns), nsToUtime(s.mtime_ns));
}

/**
 * A directory's owner (when privileged), mode and mtime. Its atime is not recorded: it gets the mtime.
 * Set after everything inside it is written, as that would move the mtime again.
 */
export function applyDirectoryMetadata(m: DirectoryMeta, path: string, made: { readonly dev: bigint; readonly ino: bigint }, warnings: string[]): void {
  // Through a descriptor of the directory this restore made, never a path: the output may be writable by
  // someone who swaps a directory for a symlink meanwhile, and root would then chmod the link's target.
  const fd = openSync(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  try {
    const st = fstatSync(fd, { bigint: true });
    if (st.dev !== made.dev || st.ino !== made.ino) {
      warnings.push(`${path}: replaced since this restore made it; its mode, owner and times were not restored`);
      return;
    }
    // Without the path, as for files: a tree of root's restored by a user is one warning, not one per directory.
    chownOrWarn(m, (uid, gid) => fchownSync(fd, uid, gid), warnings);
    fchmodSync(fd, m.mode);
    futimesSync(fd, nsToUtime(m.mtime_ns), nsToUtime(m.mtime_ns));
  } finally {
    closeSync(fd);
  }
}

/**
 * The same for a regular file still open for writing: no path lookups (a tree restore does 20k of these).
 * `owned`: the new file already has the owner and group to restore, so the chown is left out.
 */
function applyMetadataToOpenFile(s: RestoredMeta, fd: number, owned: boolean, warnings: string[]): void {
  if (!owned) chownOrWarn(s, (uid, gid) => fchownSync(fd, uid, gid), warnings);
  fchmodSync(fd, s.mode);
  // The last write has happened: closing does not change the times set here.
  futimesSync(fd, nsToUtime(s.atime_ns), nsToUtime(s.mtime_ns));
}

/** The output's disk is full: the one error a restore stops at (every later file would fail alike). */
export function noSpaceToRestore(output: string): Error {
  return Object.assign(userError(`no space left on the device of ${output}`, 'free some space, or restore elsewhere with --output'), { code: 'ENOSPC' });
}

/** Codes that mean the output refuses a write (permissions, a read-only mount), not that bt failed. */
export const refusesWrite = (code: string | undefined): code is 'EACCES' | 'EPERM' | 'EROFS' => code === 'EACCES' || code === 'EPERM' || code === 'EROFS';

/** A directory of the output that refuses the write: said as the destination's problem, one line. */
export function cannotWriteInto(dir: string, code: string): Error {
  return userError(`cannot write into ${dir} (${code})`, 'restore elsewhere with --output');
}

/** A directory of the output refusing a mkdir (read-only, not ours), said in the user's terms. */
export function inUserTerms<T>(make: () => T): T {
  try {
    return make();
  } catch (err) {
    const code = errnoCode(err);
    const path = err instanceof Error && 'path' in err && typeof err.path === 'string' ? err.path : undefined;
    if (path !== undefined && refusesWrite(code)) throw cannotWriteInto(dirname(path), code);
    throw err;
  }
}

/**
 * With --force a restore replaces a file or a link, never a device, FIFO or socket (a directory is refused
 * by the rename in placeRestored): writing "over" /dev/something as root would replace the node itself.
 */
export function refuseSpecialTarget(path: string): void {
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return; // nothing there (or no way there: making the parents says why)
  }
  if (st.isFile() || st.isSymbolicLink() || st.isDirectory()) return;
  const kind = st.isFIFO() ? 'FIFO' : st.isSocket() ? 'socket' : 'device node';
  throw userError(`${path} is a ${kind}; not replaced`, 'move it, or restore elsewhere with --output');
}

/** The last step: the finished temporary file becomes the target. */
export function placeRestored(tmp: string, output: string): void {
  try {
    renameSync(tmp, output);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'EISDIR' || code === 'ENOTEMPTY' || code === 'EEXIST') throw userError(`${output} is a directory; not replaced`, 'restore into an empty --output directory');
    throw err;
  }
}

export interface SmallRestoreJob {
  /** A whole object in a vault on a local disk. */
  readonly object: string;
  readonly checksum: string;
  /** The content's size in bytes: an object of any other size is not it. */
  readonly size: number;
  readonly target: string;
  /**
   * True when a file created in the target's directory gets the owner and group to restore (this process's
   * uid, and the group a new file there gets): then no chown is needed.
   */
  readonly owned: boolean;
  /** Null with --content-only: then the file gets `plainMode` (the user's umask) and nothing else. */
  readonly meta: RestoredMeta | null;
  readonly plainMode: number;
}

export type SmallRestoreOutcome =
  | { readonly kind: 'done'; readonly warnings: readonly string[] }
  /** The object is absent or not what its name says: the caller tries the other vaults. */
  | { readonly kind: 'missing' }
  | { readonly kind: 'corrupt' }
  /** `noSpace`: the output's disk is full, and every next file would fail the same way. */
  | { readonly kind: 'failed'; readonly reason: string; readonly noSpace?: true };

/** Read into, one file after another on this thread: no buffer per file for the GC to chase. */
let readBuffer = Buffer.alloc(0);

/**
 * The object's bytes if it holds exactly `size` of them, else null. Asking for one byte more than expected
 * tells a longer object at once, without an fstat; a shorter one ends at EOF. The bytes are valid until the
 * next call on this thread.
 */
export function readObject(path: string, size: number): Buffer | null {
  if (readBuffer.length < size + 1) readBuffer = Buffer.allocUnsafe(Math.max(size + 1, 64 * 1024));
  const fd = openSync(path, 'r');
  try {
    let got = 0;
    // At least one read, so that an empty content's object is checked for bytes too.
    do {
      const n = readSync(fd, readBuffer, got, size + 1 - got, got);
      if (n === 0) break;
      got += n;
    } while (got < size);
    return got === size ? readBuffer.subarray(0, size) : null;
  } finally {
    closeSync(fd);
  }
}

/** Restores a small whole object: one read, verified in memory, one write; never throws. */
export function restoreSmallObject(job: SmallRestoreJob): SmallRestoreOutcome {
  let data: Buffer | null;
  try {
    data = readObject(job.object, job.size);
  } catch {
    // Absent or unreadable here (EIO, EACCES, ...): the general path tries every other vault.
    return { kind: 'missing' };
  }
  // A short or long object is not this content, whatever its first bytes hash to.
  if (data === null || crypto().createHash('sha256').update(data).digest('hex') !== job.checksum) return { kind: 'corrupt' };
  const tmp = restoreTmpPath(job.target);
  const warnings: string[] = [];
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    for (let at = 0; at < data.length; ) at += writeSync(fd, data, at, data.length - at);
    if (job.meta) applyMetadataToOpenFile(job.meta, fd, job.owned, warnings);
    else fchmodSync(fd, job.plainMode);
    // Cleared first: a close that fails has still released the number, which another thread may reuse.
    const closing = fd;
    fd = undefined;
    closeSync(closing);
    placeRestored(tmp, job.target);
  } catch (err) {
    try {
      if (fd !== undefined) closeSync(fd);
    } catch {
      // the failure below says what went wrong
    }
    try {
      rmSync(tmp, { force: true });
    } catch {
      // a temporary left behind is hidden and never reused
    }
    const code = errnoCode(err);
    if (code === 'ENOSPC') return { kind: 'failed', reason: 'no space left on the device', noSpace: true };
    // The output's directory refuses the write (read-only, or restored read-only by an earlier restore).
    if (refusesWrite(code)) return { kind: 'failed', reason: `cannot write into ${dirname(job.target)} (${code})` };
    return { kind: 'failed', reason: describeError(err) };
  }
  return { kind: 'done', warnings };
}
