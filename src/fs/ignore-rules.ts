// Ignore rules with gitignore semantics: the config's global list plus a .btignore in any directory.
import { closeSync, constants, fstatSync, lstatSync, openSync, readFileSync } from 'node:fs';
import ignore, { type Ignore } from 'ignore';
import { errnoCode } from '../core/errors.js';

export const IGNORE_FILE = '.btignore';

interface Level {
  /** Directory the rules are relative to, as a path relative to the tracked root ('' for the root). */
  readonly base: string;
  readonly rules: Matcher;
}

/**
 * node-ignore keeps the answer for every path it was asked about, forever: on a walk of a large tree that
 * is tens of MiB. A fresh matcher every so many tests bounds it (the walk never asks twice about a file).
 */
class Matcher {
  private ignore: Ignore;
  private tests = 0;

  constructor(private readonly patterns: string | readonly string[]) {
    this.ignore = Matcher.compile(patterns);
  }

  test(path: string): { ignored: boolean; unignored: boolean } {
    if (++this.tests > Matcher.TESTS_PER_CACHE) {
      this.ignore = Matcher.compile(this.patterns);
      this.tests = 1;
    }
    return this.ignore.test(path);
  }

  /**
   * The rules matching `path` itself (last one wins), its directories aside: node-ignore's public test
   * answers for a path under a directory it ignores with that directory's answer, which hid a deeper
   * .btignore's `!x/` from the files in x. Its rule list is internal; without it, the public test.
   */
  own(path: string): { ignored: boolean; unignored: boolean } {
    const rules: unknown = (this.ignore as unknown as { _rules?: unknown })._rules;
    if (typeof rules === 'object' && rules !== null && 'test' in rules && typeof rules.test === 'function') {
      const result: unknown = rules.test(path, 'regex');
      if (typeof result === 'object' && result !== null && 'ignored' in result && 'unignored' in result) {
        return { ignored: result.ignored === true, unignored: result.unignored === true };
      }
    }
    return this.test(path);
  }

  private static compile(patterns: string | readonly string[]): Ignore {
    return ignore({ allowRelativePaths: true }).add(patterns);
  }

  static readonly TESTS_PER_CACHE = 4096;
}

/** The rules in force for one directory during a walk; deeper .btignore files override shallower ones. */
export class IgnoreRules {
  private constructor(private readonly levels: readonly Level[]) {}

  static global(patterns: readonly string[]): IgnoreRules {
    return new IgnoreRules([{ base: '', rules: new Matcher(patterns) }]);
  }

  /**
   * The rules for the directory `rel` (relative to the tracked root) whose absolute path is `abs`. A
   * .btignore that cannot be used is reported (`problem`) and its directory walked without it.
   */
  enter(rel: string, abs: string, problem?: (path: string, reason: string) => void): IgnoreRules {
    const path = `${abs}/${IGNORE_FILE}`;
    const text = readIgnoreFile(path, (reason) => problem?.(path, reason));
    return text === undefined ? this : new IgnoreRules([...this.levels, { base: rel, rules: new Matcher(text) }]);
  }

  /**
   * Whether `rel` (relative to the tracked root) is ignored; the last level with a rule matching it decides,
   * as git does. Its directories were decided already, from the top down (a walk enters only those not
   * ignored, the watcher asks for each): so only rules matching `rel` itself count here. Else `x/` in one
   * .btignore and `!x/` in a deeper one walked x but left out every file in it.
   */
  ignores(rel: string, isDir: boolean): boolean {
    let ignored = false;
    for (const level of this.levels) {
      const local = level.base === '' ? rel : rel.slice(level.base.length + 1);
      const result = level.rules.own(isDir ? `${local}/` : local);
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  }
}

/** Larger than any list of patterns a person writes; a bigger file is not read into memory. */
const MAX_IGNORE_BYTES = 1 << 20;

/**
 * The text of a .btignore, or undefined: none there, or not usable. Opened without blocking and read only
 * when it is a regular file (a symlink to one is followed): a FIFO would hang the walk, /dev/zero never end.
 */
function readIgnoreFile(path: string, problem: (reason: string) => void): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = errnoCode(err);
    // Not there, or its directory unreadable or too deep to name: the walk says so for the directory.
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'ENAMETOOLONG') return undefined;
    // EACCES with the directory searchable is the file's own mode: its rules exist and are not applied.
    if (code === 'EACCES' && !isThere(path)) return undefined;
    problem(`cannot read (${code ?? 'error'}); the directory is walked without its rules`);
    return undefined;
  }
  try {
    const stat = fstatSync(fd);
    if (stat.isDirectory()) return undefined;
    if (!stat.isFile()) {
      problem('not a regular file; the directory is walked without its rules');
      return undefined;
    }
    if (stat.size > MAX_IGNORE_BYTES) {
      problem(`larger than ${MAX_IGNORE_BYTES} bytes; the directory is walked without its rules`);
      return undefined;
    }
    return readFileSync(fd, 'utf8');
  } catch (err) {
    problem(`cannot read (${errnoCode(err) ?? 'error'}); the directory is walked without its rules`);
    return undefined;
  } finally {
    closeSync(fd);
  }
}

function isThere(path: string): boolean {
  try {
    return lstatSync(path, { throwIfNoEntry: false }) !== undefined;
  } catch {
    return false;
  }
}
