// The walk of a tracked directory, as every scan of one does it (add, status).
import { IgnoreRules } from '../fs/ignore-rules.js';
import { type WalkEntry, type WalkOptions, walk } from '../fs/walk.js';
import type { Context } from './context.js';
import { btOwnPaths } from './own-paths.js';

/**
 * Files under `start` of the tracked directory `root`: the config's ignore rules apply, bt's own directories
 * are left out.
 */
export function walkTracked(
  ctx: Context,
  root: string,
  start: string,
  notice: WalkOptions['notice'],
  onDirectory?: WalkOptions['onDirectory'],
): Generator<WalkEntry> {
  const rules = IgnoreRules.global(ctx.config.fs.ignore);
  return walk({ root, start, rules, exclude: new Set(btOwnPaths(ctx.config)), notice, ...(onDirectory ? { onDirectory } : {}) });
}
