// Which chunks of a file's previous version every vault already holds: `bt add` lists them in the new
// version's manifest without staging them again, so a small change to a large file stages a small change.
import pLimit from 'p-limit';
import type { Context } from './context.js';

/** Chunk lookups in flight on the local vaults. */
const CHECKS_IN_FLIGHT = 8;

/**
 * The chunk ids of `contentId` that every configured vault holds: each vault must hold the content chunked
 * (a manifest), and each chunk is looked for on every vault on a local disk.
 * Undefined when a vault holds it whole or not at all, or cannot be asked: an optimisation, never an error.
 * A chunk lost after this answer is read back from the file itself at backup (backup.ts).
 */
export async function chunksInEveryVault(ctx: Context, contentId: string): Promise<readonly string[] | undefined> {
  try {
    const holders = new Set(ctx.store.queries.contentLocations(contentId));
    const vaults = await ctx.vaults();
    if (vaults.length === 0 || !vaults.every((v) => holders.has(v.name))) return undefined;
    let common: Map<string, number> | undefined;
    for (const vault of vaults) {
      const chunks = await vault.chunksOf(contentId);
      if (!chunks) return undefined;
      common = new Map(common ? chunks.filter(([id, length]) => common!.get(id) === length) : chunks);
    }
    // A stat per chunk on a local disk is free; a HEAD per chunk on S3 would double what a backup asks the
    // bucket, which checks each chunk again anyway: there the manifest is trusted, and a chunk lost since
    // is read back from the file at backup (a file changed there gets a new manifest at the next add).
    const local = vaults.filter((v) => v.kind === 'fs');
    const limit = pLimit(CHECKS_IN_FLIGHT);
    const everywhere = await Promise.all(
      [...(common ?? [])].map(([id, length]) => limit(async () => ((await Promise.all(local.map((v) => v.hasChunk(id, length)))).every(Boolean) ? id : null))),
    );
    return everywhere.filter((id): id is string => id !== null);
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
