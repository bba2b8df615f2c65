// The tracked files of a scan, read a page at a time alongside the walk: memory stays flat however many
// files the tree holds (a Map of them all took ~1 KB per file: 250 MB for 200k).
import { compareNames } from '../fs/paths.js';
import type { Directory, NamedTrackedFile, Queries } from '../projections/queries.js';

/** Records per page: enough to make the queries cheap, few enough to be freed young. */
const PAGE = 1000;

/**
 * Walks and pages are in the same order (code point order of names), so each walked name is matched by
 * moving forward; a record the walk went past without naming is handed to `passed` (gone, ignored or
 * unreadable now: the caller decides). Should the order ever disagree (which the check below would see),
 * the cursor stops merging and looks names up one by one: slower, never wrong.
 */
export class KnownFiles {
  private page: NamedTrackedFile[] = [];
  private at = 0;
  private after = '';
  private done = false;
  private lastWalked: string | undefined;
  private merging = true;
  /** Records handed out one by one after merging stopped: kept out of `passed` at the end. */
  private readonly matchedAside = new Set<string>();

  constructor(
    private readonly q: Queries,
    private readonly directory: Directory,
    private readonly under: string,
    private readonly passed: (file: NamedTrackedFile) => void,
    private readonly pageSize = PAGE,
  ) {}

  /** True when nothing under the start was ever tracked. */
  isEmpty(): boolean {
    return this.peek() === undefined;
  }

  /** The record of a walked name, if any. Names must come in walk order. */
  lookup(name: string): NamedTrackedFile | undefined {
    if (this.merging && this.lastWalked !== undefined && compareNames(this.lastWalked, name) >= 0) this.merging = false;
    this.lastWalked = name;
    while (this.merging) {
      const next = this.peek();
      if (next === undefined) return undefined;
      if (!this.merging) break; // the page just read was out of order
      const order = compareNames(next.name, name);
      if (order > 0) return undefined;
      this.at++;
      if (order === 0) return next;
      this.passed(next);
    }
    return this.lookupAside(name);
  }

  /** Hands every record after the last walked name to `passed`. */
  finish(): void {
    for (let next = this.peek(); next !== undefined; next = this.peek()) {
      this.at++;
      if (!this.matchedAside.has(next.name)) this.passed(next);
    }
  }

  private lookupAside(name: string): NamedTrackedFile | undefined {
    const [found] = this.q.trackedPage(this.directory, name, '', 1).filter((f) => f.name === name);
    if (found) this.matchedAside.add(name);
    return found;
  }

  private peek(): NamedTrackedFile | undefined {
    if (this.at < this.page.length) return this.page[this.at];
    if (this.done) return undefined;
    this.page = this.q.trackedPage(this.directory, this.under, this.after, this.pageSize);
    this.at = 0;
    if (this.page.length < this.pageSize) this.done = true;
    for (let i = 0; i < this.page.length; i++) {
      const prev = i === 0 ? this.after : this.page[i - 1]!.name;
      if (prev !== '' && compareNames(prev, this.page[i]!.name) >= 0) this.merging = false;
    }
    if (this.page.length > 0) this.after = this.page[this.page.length - 1]!.name;
    return this.page[this.at];
  }
}
