// Ignore rules with gitignore semantics: the config's global list plus a .btignore in any directory.
import { readFileSync } from 'node:fs';
import ignore, { type Ignore } from 'ignore';
import { errnoCode } from '../core/errors.js';

export const IGNORE_FILE = '.btignore';

interface Level {
  /** Directory the rules are relative to, as a path relative to the tracked root ('' for the root). */
  readonly base: string;
  readonly rules: Ignore;
}

/** The rules in force for one directory during a walk; deeper .btignore files override shallower ones. */
export class IgnoreRules {
  private constructor(private readonly levels: readonly Level[]) {}

  static global(patterns: readonly string[]): IgnoreRules {
    return new IgnoreRules([{ base: '', rules: ignore({ allowRelativePaths: true }).add(patterns) }]);
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
    return new IgnoreRules([...this.levels, { base: rel, rules: ignore({ allowRelativePaths: true }).add(text) }]);
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
