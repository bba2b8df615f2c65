// Walks a tracked tree: regular files and symlinks (never followed), honouring ignore rules and exclusions.
import { type BigIntStats, type Dirent, lstatSync, readdirSync } from 'node:fs';
import { errnoCode, userError } from '../core/errors.js';
import type { IgnoreRules } from './ignore-rules.js';
import { compareNames } from './paths.js';
import { isRestoreTemporary } from './restore-file.js';

export interface WalkEntry {
  /** Path relative to the tracked root, '/'-separated. */
  readonly name: string;
  readonly abs: string;
  readonly stat: BigIntStats;
}

export interface WalkNotice {
  readonly path: string;
  readonly reason: string;
  /** True when something that should be backed up could not be read (the run ends "partial"). */
  readonly skipped: boolean;
}

export interface WalkOptions {
  readonly root: string;
  /** Where to start, relative to root ('' for the whole tree). */
  readonly start: string;
  readonly rules: IgnoreRules;
  /** Absolute paths never entered (bt's own base dir, vault directories under a tracked tree). */
  readonly exclude: ReadonlySet<string>;
  readonly notice: (n: WalkNotice) => void;
  /**
   * Called for each directory entered, the start first, before its entries (`rel` as a WalkEntry's name);
   * for a start that is a file or gone, with the start's directory.
   */
  readonly onDirectory?: (rel: string, stat: BigIntStats) => void;
}

const join = (a: string, b: string): string => (a === '' ? b : `${a}/${b}`);
const absOf = (root: string, rel: string): string => (rel === '' ? root : root === '/' ? `/${rel}` : `${root}/${rel}`);

function kindOf(stat: BigIntStats): 'file' | 'symlink' | 'dir' | 'special' {
  if (stat.isFile()) return 'file';
  if (stat.isSymbolicLink()) return 'symlink';
  if (stat.isDirectory()) return 'dir';
  return 'special';
}

function specialName(stat: BigIntStats): string {
  if (stat.isSocket()) return 'socket';
  if (stat.isFIFO()) return 'FIFO';
  if (stat.isBlockDevice()) return 'block device';
  if (stat.isCharacterDevice()) return 'character device';
  return 'special file';
}

/**
 * Yields files and symlinks under `start`, depth first, in the code point order of their relative names (the
 * order SQLite sorts them in, so a scan can merge the walk with the tracked files read in pages).
 * Ignored directories are not entered; unreadable ones are reported and skipped.
 */
export function* walk(opts: WalkOptions): Generator<WalkEntry> {
  const startAbs = absOf(opts.root, opts.start);
  // Named on purpose or not, bt's own files (database, staging, a vault) are never backed up.
  const own = [...opts.exclude].find((x) => startAbs === x || startAbs.startsWith(x === '/' ? x : `${x}/`));
  if (own !== undefined) {
    const where = own === startAbs ? 'is one of' : `is in ${own}, one of`;
    throw userError(`${startAbs} ${where} bt's own directories: bt never backs up its own files`, 'name a path outside it');
  }
  let top: BigIntStats;
  try {
    top = lstatSync(startAbs, { bigint: true });
  } catch (err) {
    // A start that is gone yields nothing: the caller records its deletion; it was not skipped.
    if (errnoCode(err) === 'ENOENT') reportParent(opts);
    else opts.notice({ path: startAbs, reason: `cannot read (${errnoCode(err) ?? 'error'})`, skipped: true });
    return;
  }
  const topKind = kindOf(top);
  if (topKind !== 'dir') {
    if (topKind === 'special') opts.notice({ path: startAbs, reason: `skipped: a ${specialName(top)}`, skipped: false });
    else yield { name: opts.start, abs: startAbs, stat: top };
    reportParent(opts);
    return;
  }
  const { rules, passedOver } = enterDownTo(opts, opts.start);
  // A directory made, moved in or replaced there changed its parent's mtime too (`bt watch` stages it alone).
  reportParent(opts);
  const { onDirectory: _, ...withoutDirectories } = opts;
  yield* walkDir(passedOver ? withoutDirectories : opts, opts.start, startAbs, rules, top);
}

/**
 * The rules of every directory from the root down to `rel` (they all apply there), and whether `rel` is in
 * an ignored or excluded directory: one named on purpose is walked, but its directories are not the
 * tree's (a full walk never enters them).
 */
function enterDownTo(opts: WalkOptions, rel: string): { rules: IgnoreRules; passedOver: boolean } {
  let rules = opts.rules.enter('', opts.root, ignoreFileProblem(opts));
  let passedOver = false;
  if (rel === '') return { rules, passedOver };
  const parts = rel.split('/');
  for (let i = 1; i <= parts.length; i++) {
    const prefix = parts.slice(0, i).join('/');
    const abs = absOf(opts.root, prefix);
    passedOver ||= opts.exclude.has(abs) || rules.ignores(prefix, true);
    rules = rules.enter(prefix, abs, ignoreFileProblem(opts));
  }
  return { rules, passedOver };
}

/** A .btignore that cannot be used: said, but nothing of the tree is skipped for it. */
const ignoreFileProblem =
  (opts: WalkOptions) =>
  (path: string, reason: string): void =>
    opts.notice({ path, reason, skipped: false });

/** A start other than the root: its directory changed with it (its mtime), so it is reported too. */
function reportParent(opts: WalkOptions): void {
  if (!opts.onDirectory || opts.start === '') return;
  const cut = opts.start.lastIndexOf('/');
  const parent = cut < 0 ? '' : opts.start.slice(0, cut);
  if (enterDownTo(opts, parent).passedOver) return;
  const stat = lstatOrUndefined(absOf(opts.root, parent));
  if (stat?.isDirectory()) opts.onDirectory(parent, stat);
}

function lstatOrUndefined(abs: string): BigIntStats | undefined {
  try {
    return lstatSync(abs, { bigint: true });
  } catch {
    return undefined;
  }
}

/**
 * Names that are not valid UTF-8 reach us with U+FFFD in place of the bad bytes: such a string names no
 * file, and a journal of JSON strings cannot hold the bytes. They are reported and skipped, never silently
 * dropped. By decoded name: true when a valid name decodes to it too (a file really named with U+FFFD),
 * which is then walked once.
 */
function invalidNames(abs: string, opts: WalkOptions): Map<string, boolean> {
  const valid = new Set<string>();
  const invalid = new Set<string>();
  for (const raw of readdirSync(abs, { encoding: 'buffer' })) {
    const text = raw.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(raw)) {
      valid.add(text);
      continue;
    }
    invalid.add(text);
    const shown = [...raw].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, '0')}`)).join('');
    opts.notice({ path: `${abs}/${shown}`, reason: 'skipped: its name is not valid UTF-8 (bt cannot record such names yet; rename it)', skipped: true });
  }
  return new Map([...invalid].map((text) => [text, valid.has(text)]));
}

function* walkDir(opts: WalkOptions, rel: string, abs: string, rules: IgnoreRules, stat?: BigIntStats): Generator<WalkEntry> {
  if (opts.onDirectory) {
    // A directory gone since its parent's readdir has nothing to walk either; the readdir below says so.
    const own = stat ?? lstatOrUndefined(abs);
    if (own?.isDirectory()) opts.onDirectory(rel, own);
  }
  let entries: Dirent[];
  try {
    entries = readdirSync(abs, { withFileTypes: true });
  } catch (err) {
    opts.notice({ path: abs, reason: `cannot read directory (${errnoCode(err) ?? 'error'})`, skipped: true });
    return;
  }
  // A directory sorts as its name plus '/': where the names of the files inside it sort among its siblings.
  const key = (e: Dirent): string => (e.isDirectory() ? `${e.name}/` : e.name);
  entries.sort((a, b) => compareNames(key(a), key(b)));
  const undecodable = entries.some((e) => e.name.includes('\uFFFD')) ? invalidNames(abs, opts) : undefined;
  for (const entry of entries) {
    const childRel = join(rel, entry.name);
    const childAbs = abs === '/' ? `/${entry.name}` : `${abs}/${entry.name}`;
    let isDirectory = entry.isDirectory();
    const twin = undecodable?.get(entry.name);
    if (twin !== undefined) {
      // Only the valid name can be opened by this text, once; which entry is which, only an lstat says.
      if (!twin) continue;
      undecodable!.set(entry.name, false);
      isDirectory = lstatOrUndefined(childAbs)?.isDirectory() ?? false;
    }
    if (isDirectory) {
      if (opts.exclude.has(childAbs) || rules.ignores(childRel, true)) continue;
      yield* walkDir(opts, childRel, childAbs, rules.enter(childRel, childAbs, ignoreFileProblem(opts)));
      continue;
    }
    // A killed restore's temporary (`bt restore` beside a file writes into the tracked tree): bt's own.
    if (rules.ignores(childRel, false) || isRestoreTemporary(entry.name)) continue;
    let stat: BigIntStats;
    try {
      stat = lstatSync(childAbs, { bigint: true });
    } catch (err) {
      // Gone between readdir and lstat: it is simply not there any more.
      if (errnoCode(err) === 'ENOENT') continue;
      opts.notice({ path: childAbs, reason: `cannot stat (${errnoCode(err) ?? 'error'})`, skipped: true });
      continue;
    }
    const kind = kindOf(stat);
    if (kind === 'special') {
      opts.notice({ path: childAbs, reason: `skipped: a ${specialName(stat)}`, skipped: false });
      continue;
    }
    if (kind === 'dir') continue; // replaced by a directory since readdir; the next scan sees it
    yield { name: childRel, abs: childAbs, stat };
  }
}
