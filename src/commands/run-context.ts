// Opens the host context for a command, optionally under the host lock, and always closes it.
import { Context, type Reporter } from '../service/context.js';

export async function withContext<T>(
  reporter: Reporter,
  lock: string | null,
  fn: (ctx: Context) => Promise<T> | T,
  opts: { readonly adoptsJournal?: boolean } = {},
): Promise<T> {
  const ctx = Context.open(reporter);
  try {
    // Only `bt recover` works on a database whose journal is another host's: it is adopting it.
    if (!opts.adoptsJournal) ctx.checkJournalOwner();
    if (lock) await ctx.lockHost(lock);
    return await fn(ctx);
  } finally {
    reporter.done?.();
    ctx.close();
  }
}
