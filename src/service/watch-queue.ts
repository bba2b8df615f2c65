// The watcher's pending work: changed paths waiting to be quiet for the settle delay, and directories to rescan.
// Bounded: when too many paths are pending, a directory's paths are dropped for one rescan of that directory.

/**
 * A settled path still waits while other paths of its directory keep changing (a checkout, an unzip: one
 * batch, one backup), but never longer than this many settle delays of its own quiet.
 */
const BURST_PATIENCE = 4;

interface PendingPath {
  readonly root: string;
  readonly first: number;
  last: number;
}

export interface QueueOptions {
  /** A path is staged once no event has touched it for this long. */
  readonly settleMs: number;
  /** ...or at the latest this long after its first event (a file written without pause is still backed up). */
  readonly maxWaitMs: number;
  /** Pending paths at most; beyond it the affected directory is rescanned instead. */
  readonly limit: number;
}

export class ChangeQueue {
  private readonly paths = new Map<string, PendingPath>();
  /** The last event under each root with pending paths. */
  private readonly rootLast = new Map<string, number>();
  /** Tracked roots to rescan, each not before the time given (errors are coalesced for a settle delay). */
  private readonly rescans = new Map<string, number>();

  constructor(private readonly opts: QueueOptions) {}

  get size(): number {
    return this.paths.size;
  }

  /**
   * Records an event for `path` (under tracked root `root`) at `now`. A root already due for a rescan
   * absorbs it: the rescan walks the tree after this event. Returns 'overflow' when the queue was full.
   */
  add(root: string, path: string, now: number): 'queued' | 'absorbed' | 'overflow' {
    if (this.rescans.has(root)) return 'absorbed';
    this.rootLast.set(root, now);
    const known = this.paths.get(path);
    if (known) {
      known.last = now;
      return 'queued';
    }
    if (this.paths.size >= this.opts.limit) {
      this.rescan(root, now);
      return 'overflow';
    }
    this.paths.set(path, { root, first: now, last: now });
    return 'queued';
  }

  /** Schedules a rescan of `root` at `at` (or earlier if one is already scheduled); its pending paths go. */
  rescan(root: string, at: number): void {
    const before = this.rescans.get(root);
    this.rescans.set(root, before === undefined ? at : Math.min(before, at));
    this.forgetPaths(root);
  }

  /** Forgets everything about a root that is no longer watched. */
  drop(root: string): void {
    this.rescans.delete(root);
    this.forgetPaths(root);
  }

  private forgetPaths(root: string): void {
    this.rootLast.delete(root);
    for (const [path, p] of this.paths) if (p.root === root) this.paths.delete(path);
  }

  /** Roots whose rescan is due; they leave the queue (events after this point are queued again). */
  takeRescans(now: number): string[] {
    const due = [...this.rescans].filter(([, at]) => at <= now).map(([root]) => root);
    for (const root of due) this.rescans.delete(root);
    return due;
  }

  /** Paths that have settled (or waited too long), grouped by root; they leave the queue. */
  takeSettled(now: number): Map<string, string[]> {
    const out = new Map<string, string[]>();
    const stillPending = new Set<string>();
    for (const [path, p] of this.paths) {
      if (this.dueAt(p) > now) {
        stillPending.add(p.root);
        continue;
      }
      this.paths.delete(path);
      const list = out.get(p.root);
      if (list) list.push(path);
      else out.set(p.root, [path]);
    }
    for (const root of this.rootLast.keys()) if (!stillPending.has(root)) this.rootLast.delete(root);
    return out;
  }

  /** Puts paths back (the host lock was busy): they keep their place and are retried later. */
  requeue(groups: ReadonlyMap<string, readonly string[]>, now: number): void {
    for (const [root, paths] of groups) for (const path of paths) this.add(root, path, now);
  }

  /** When the next piece of work falls due; undefined when there is none. */
  nextDueAt(): number | undefined {
    let next: number | undefined;
    for (const at of this.rescans.values()) next = next === undefined ? at : Math.min(next, at);
    for (const p of this.paths.values()) {
      const at = this.dueAt(p);
      next = next === undefined ? at : Math.min(next, at);
    }
    return next;
  }

  private dueAt(p: PendingPath): number {
    const { settleMs, maxWaitMs } = this.opts;
    const burstQuiet = Math.max(p.last, this.rootLast.get(p.root) ?? p.last) + settleMs;
    return Math.min(burstQuiet, p.last + BURST_PATIENCE * settleMs, p.first + maxWaitMs);
  }
}
