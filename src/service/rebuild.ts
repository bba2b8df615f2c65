// `bt rebuild`: replay the journal into fresh projections, in place; where the projections' pages are
// damaged (an in-place rebuild cannot drop them), into a fresh database file.
import { isDamage, rebuildIntoFreshFile } from '../store/fresh-rebuild.js';
import { type Context, databaseFile } from './context.js';

export interface RebuildOutcome {
  readonly events: number;
  /** Set when the database file was replaced: where the damaged one was kept. */
  readonly damagedCopy: string | null;
}

export async function rebuild(ctx: Context): Promise<RebuildOutcome> {
  try {
    return { events: ctx.store.rebuild().events, damagedCopy: null };
  } catch (err) {
    if (!isDamage(err)) throw err;
  }
  ctx.reporter.notice('the projections are damaged: rebuilding the database into a fresh file');
  const r = await rebuildIntoFreshFile(ctx.store.db, databaseFile(ctx.config), ctx.store.hostId, ctx.clock, ctx.ids);
  return { events: r.events, damagedCopy: r.damagedCopy };
}
