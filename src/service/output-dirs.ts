// The output directory of a tree restore: its directories made as needed, never through a symlink, with
// what it made (and, with --force, found) remembered for the directories' metadata at the end.
import { type Stats, accessSync, constants, lstatSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { errnoCode, userError } from '../core/errors.js';
import { mkdirForUser } from '../core/umask.js';
import { pathExists, safeJoin } from '../fs/paths.js';
import { cannotWriteInto, inUserTerms, refuseSpecialTarget, refusesWrite, sweepRestoreTemporaries } from '../fs/restore-file.js';

/**
 * The directories of the output: made as needed, never through a symlink (a journal holding both
 * `a -> /etc` and `a/passwd` must not write /etc/passwd). It remembers which ones this restore made: a file
 * going into one of those cannot exist yet (names are unique in a tree) unless it is itself a directory made
 * here, so it needs no existence check: that saves an lstat per file when restoring into a new --output.
 */
export class OutputDirs {
  /** Directories known to be real directories (not links), with their owner and group. */
  private readonly verified = new Map<string, Owner>();
  /** Directories this restore made, each with its name relative to the output and its identity. */
  private readonly made = new Map<string, MadeDirectory>();
  /** With --force, the directories already there inside the output: they get the recorded metadata too. */
  private readonly existing = new Map<string, MadeDirectory>();

  constructor(
    private readonly root: string,
    private readonly force: boolean,
  ) {
    // An output that was there is left as it is, --force or not: it may be /tmp, or a link to a directory.
    if (inUserTerms(() => mkdirForUser(root))) this.made.set(root, madeDirectory(root, ''));
    else sweepRestoreTemporaries(root);
    // The output itself may be a link to a directory: the directory's owner counts.
    this.verified.set(root, ownerOf(statSync(root)));
    // One line for an output nothing can be written into, not one per file.
    try {
      accessSync(root, constants.W_OK);
    } catch (err) {
      const code = errnoCode(err);
      if (refusesWrite(code)) throw cannotWriteInto(root, code);
      throw err;
    }
  }

  /**
   * Makes the directory `rel` of the output (and its parents) where it is not there yet; returns what is in
   * the way instead, if something is.
   */
  directory(rel: string): string | undefined {
    if (rel === '') return undefined;
    const inTheWay = this.makeDirectory(rel.split('/'));
    return inTheWay && `${inTheWay.dir} is ${inTheWay.what}`;
  }

  /**
   * True when a file created in `target`'s directory already has this owner and group, so restoring them
   * needs no chown: they are this process's uid and gid, and the directory has both too. A new file takes
   * the directory's group on BSD, or on Linux under setgid; either way it is this one. A filesystem that
   * gives new files another owner (NFS squashing root or everyone) gave the directories bt made there that
   * owner too, so they fail this test and their files are chowned as before. Only a directory that existed
   * before, owned by root on an export that squashes root, would let a file come out with the squashed owner
   * and no warning.
   */
  newFileOwnedBy(target: string, uid: number, gid: number): boolean {
    const dir = this.verified.get(dirname(target));
    return uid === euid && gid === egid && dir !== undefined && dir.uid === uid && dir.gid === gid;
  }

  /** Where a file of the tree goes: inside the output, not over an existing file (without --force), parents made. */
  target(rel: string, force: boolean): string {
    const target = safeJoin(this.root, rel);
    // Only a directory this restore made for deeper files can already be there.
    const fresh = this.made.has(this.prepareParents(rel)) && !this.verified.has(target);
    if (!force && !fresh && pathExists(target)) throw userError(`${target} already exists`, 'use --force to overwrite');
    if (force && !fresh) refuseSpecialTarget(target);
    return target;
  }

  private prepareParents(rel: string): string {
    const parts = rel.split('/').slice(0, -1);
    const inTheWay = inUserTerms(() => this.makeDirectory(parts));
    if (inTheWay) {
      // Something in the output is in the way (never written through): the destination's problem, not corruption.
      throw userError(`refusing to restore ${rel}: ${inTheWay.dir} is ${inTheWay.what}`, 'restore into an empty --output directory');
    }
    return parts.length === 0 ? this.root : join(this.root, ...parts);
  }

  /** The output's directory of these name parts, made as needed; or what is in the way of it. */
  private makeDirectory(parts: readonly string[]): { dir: string; what: string } | undefined {
    let dir = this.root;
    for (let i = 0; i < parts.length; i++) {
      dir = join(dir, parts[i]!);
      if (this.verified.has(dir)) continue;
      let stat;
      const rel = parts.slice(0, i + 1).join('/');
      try {
        stat = lstatSync(dir);
      } catch {
        if (mkdirForUser(dir)) this.made.set(dir, madeDirectory(dir, rel));
        this.verified.set(dir, ownerOf(lstatSync(dir)));
        continue;
      }
      if (!stat.isDirectory()) return { dir, what: stat.isSymbolicLink() ? 'a symlink' : 'not a directory' };
      this.verified.set(dir, ownerOf(stat));
      // There before: an interrupted restore into it may have left temporaries.
      sweepRestoreTemporaries(dir);
      if (this.force && !this.made.has(dir)) this.existing.set(dir, madeDirectory(dir, rel));
    }
    return undefined;
  }

  /**
   * The directories whose metadata this restore sets, deepest first (a directory's metadata goes on after its
   * contents'): those it made, and with --force those already there (so running an interrupted restore
   * again with --force finishes what the first one never reached).
   */
  ownDeepestFirst(): (MadeDirectory & { abs: string })[] {
    const depth = (rel: string): number => (rel === '' ? 0 : rel.split('/').length);
    return [...this.made, ...this.existing].map(([abs, m]) => ({ abs, ...m })).sort((a, b) => depth(b.rel) - depth(a.rel));
  }
}

export interface MadeDirectory {
  readonly rel: string;
  readonly dev: bigint;
  readonly ino: bigint;
}
function madeDirectory(abs: string, rel: string): MadeDirectory {
  const st = lstatSync(abs, { bigint: true });
  return { rel, dev: st.dev, ino: st.ino };
}

const euid = process.geteuid?.() ?? -1;
const egid = process.getegid?.() ?? -1;

interface Owner {
  readonly uid: number;
  readonly gid: number;
}
const ownerOf = (st: Stats): Owner => ({ uid: st.uid, gid: st.gid });
