// Opens the host context for a command, optionally under the host lock, and always closes it.
import { Context, type Reporter } from '../service/context.js';

export async function withContext<T>(
  reporter: Reporter,
  lock: string | null,
  fn: (ctx: Context) => Promise<T> | T,
): Promise<T> {
  const ctx = Context.open(reporter);
  try {
    if (lock) await ctx.lockHost(lock);
    return await fn(ctx);
  } finally {
    reporter.done?.();
    ctx.close();
  }
}
