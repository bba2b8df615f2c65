// Which paths under one tracked directory the watcher ignores: the walk's rules (fs.ignore + .btignore), memoized.
import { IGNORE_FILE, IgnoreRules } from '../fs/ignore-rules.js';
import { isUnder, joinName } from '../fs/paths.js';

/** Memo entries kept before the cache starts over (bounded memory on huge trees; refilled on demand). */
const MAX_CACHED_DIRS = 50_000;

const parentOf = (rel: string): string => {
  const slash = rel.lastIndexOf('/');
  return slash < 0 ? '' : rel.slice(0, slash);
};


/**
 * Answers the same question the walk does (`rules.ignores(rel, isDir)` with the rules of every directory
 * from the root down), without re-reading .btignore files on every event. Forget it after a .btignore changes.
 */
export class WatchIgnore {
  private rules = new Map<string, IgnoreRules>();
  private ignoredDirs = new Map<string, boolean>();

  constructor(
    readonly root: string,
    private readonly globalPatterns: readonly string[],
    private readonly ownPaths: readonly string[],
  ) {}

  /** Drops what was read from .btignore files (one changed). */
  forget(): void {
    this.rules = new Map();
    this.ignoredDirs = new Map();
  }

  /** The path relative to the root, or undefined when it is not below the root. */
  relative(abs: string): string | undefined {
    if (abs === this.root) return '';
    const prefix = this.root === '/' ? '/' : `${this.root}/`;
    return abs.startsWith(prefix) ? abs.slice(prefix.length) : undefined;
  }

  /** bt's own directories (base, data, staging, vaults) are never watched or staged. */
  isOwn(abs: string): boolean {
    return this.ownPaths.some((own) => isUnder(abs, own));
  }

  /** Whether `rel` is ignored; `isDir` undefined means "not known": ignored only if ignored either way. */
  ignores(rel: string, isDir: boolean | undefined): boolean {
    if (rel === '') return false;
    const parent = parentOf(rel);
    if (this.dirIgnored(parent)) return true;
    const rules = this.rulesOf(parent);
    if (isDir === undefined) return rules.ignores(rel, false) && rules.ignores(rel, true);
    return isDir ? this.dirIgnored(rel) : rules.ignores(rel, false);
  }

  static isIgnoreFile(abs: string): boolean {
    return abs.endsWith(`/${IGNORE_FILE}`);
  }

  private dirIgnored(rel: string): boolean {
    if (rel === '') return false;
    const known = this.ignoredDirs.get(rel);
    if (known !== undefined) return known;
    const parent = parentOf(rel);
    const ignored = this.dirIgnored(parent) || this.rulesOf(parent).ignores(rel, true);
    this.remember(this.ignoredDirs, rel, ignored);
    return ignored;
  }

  /** The rules in force inside directory `rel` (its own .btignore included), as the walk builds them. */
  private rulesOf(rel: string): IgnoreRules {
    const known = this.rules.get(rel);
    if (known) return known;
    const base = rel === '' ? IgnoreRules.global(this.globalPatterns) : this.rulesOf(parentOf(rel));
    const rules = base.enter(rel, joinName(this.root, rel));
    this.remember(this.rules, rel, rules);
    return rules;
  }

  private remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= MAX_CACHED_DIRS) map.clear();
    map.set(key, value);
  }
}
