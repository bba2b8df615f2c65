// Ignore rules with gitignore semantics: the config's global list plus a .btignore in any directory.
import { readFileSync } from 'node:fs';
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

  /** The rules for the directory `rel` (relative to the tracked root) whose absolute path is `abs`. */
  enter(rel: string, abs: string): IgnoreRules {
    let text: string;
    try {
      text = readFileSync(`${abs}/${IGNORE_FILE}`, 'utf8');
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EISDIR' || code === 'EACCES') return this;
      throw err;
    }
    return new IgnoreRules([...this.levels, { base: rel, rules: new Matcher(text) }]);
  }

  /** Whether `rel` (relative to the tracked root) is ignored; the last level with a matching rule decides. */
  ignores(rel: string, isDir: boolean): boolean {
    let ignored = false;
    for (const level of this.levels) {
      const local = level.base === '' ? rel : rel.slice(level.base.length + 1);
      const result = level.rules.test(isDir ? `${local}/` : local);
      if (result.ignored) ignored = true;
      else if (result.unignored) ignored = false;
    }
    return ignored;
  }
}
