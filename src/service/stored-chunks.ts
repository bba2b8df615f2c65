// Which chunks of a file's previous version every vault already holds: `bt add` lists them in the new
// version's manifest without staging them again, so a small change to a large file stages a small change.
import type { Vault } from '../vaults/vault.js';
import type { Context } from './context.js';

/**
 * The distinct chunk ids of `contentId` when every configured vault holds that content; undefined when one
 * does not, when it is stored whole, or when the vaults cannot be asked (an optimisation: never an error).
 * A vault that stored it whole, or one added before the next backup, gets the chunks from the others then.
 */
export async function chunksInEveryVault(ctx: Context, contentId: string): Promise<readonly string[] | undefined> {
  try {
    const holders = new Set(ctx.store.queries.contentLocations(contentId));
    const vaults = await ctx.vaults();
    if (vaults.length === 0 || !vaults.every((v) => holders.has(v.name))) return undefined;
    // A local disk answers in microseconds; a bucket costs one GET of the manifest.
    const first: Vault = vaults.find((v) => v.kind === 'fs') ?? vaults[0]!;
    return await first.chunksOf(contentId);
  } catch {
    return undefined;
  }
}

/** The content id of a file's current snapshot, if it has one. */
export function currentContentOf(ctx: Context, fileId: string): string | null {
  const q = ctx.store.queries;
  const snapshotId = q.findFileById(fileId)?.current_snapshot_id;
  return (snapshotId && q.findSnapshotById(snapshotId)?.content_id) || null;
}
