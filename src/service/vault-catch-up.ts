// Brings every configured vault up to every content the others hold (ADR 0016): a vault that was away when
// versions were committed (a disk not plugged in, an endpoint down), or that was added later, gets them from
// a vault that has them. Each content is fetched and verified into the staging area, then put.
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import type { DomainEvent } from '../events/codecs.js';
import { restoreTmpPath } from '../fs/restore-file.js';
import { makeDirs } from '../fs/make-dirs.js';
import { type Vault, vaultProblem } from '../vaults/vault.js';
import type { Context } from './context.js';
import type { UnavailableVaults } from './unavailable-vaults.js';

export interface CatchUp {
  readonly vault: string;
  /** Contents copied into it, and the bytes that cost. */
  readonly contents: number;
  readonly bytes: number;
  /** Contents it still lacks: no other vault could give them, or it failed (then `error`). */
  readonly left: number;
  readonly error: string | null;
}

/** Contents per page, each page one flush and one append. */
const PAGE = 500;

export async function catchUpVaults(ctx: Context, vaults: readonly Vault[], unavailable: UnavailableVaults): Promise<CatchUp[]> {
  const q = ctx.store.queries;
  const results: CatchUp[] = [];
  for (const vault of vaults) {
    const lacking = q.contentsLacking(vault.name);
    if (lacking <= 0 || unavailable.isDown(vault.name)) continue;
    // What only vaults no longer configured hold (a vault renamed in bt.toml) no other can give: not looked
    // through page by page in every backup. `bt check` names such vaults.
    if (!vaults.some((v) => v !== vault && q.contentsHeldBy(v.name) > 0)) continue;
    results.push(await catchUp(ctx, vault, vaults, unavailable, lacking));
  }
  return results;
}

async function catchUp(ctx: Context, vault: Vault, vaults: readonly Vault[], unavailable: UnavailableVaults, lacking: number): Promise<CatchUp> {
  const q = ctx.store.queries;
  const limit = pLimit(Math.max(1, ctx.config.backup.concurrency));
  makeDirs(ctx.stagingDir, 0o700);
  let contents = 0;
  let bytes = 0;
  let error: string | null = null;
  let after = '';
  for (;;) {
    const page = q.contentsNotIn(vault.name, after, PAGE);
    if (page.length === 0 || error !== null) break;
    if (after === '') {
      // A lookup first: a vault still away (a disk not mounted) fails it without a content fetched for nothing.
      try {
        await vault.hasContent(page[0]!.id);
      } catch (err) {
        error = vaultProblem(vault.name, err);
        unavailable.mark(vault.name, error);
        break;
      }
    }
    after = page[page.length - 1]!.id;
    const holders = q.contentLocationsOf(page.map((c) => c.id));
    const events: DomainEvent[] = [];
    await Promise.all(
      page.map((c) =>
        limit(async () => {
          if (error !== null) return;
          // The config's order: the user lists a nearby disk before a bucket that charges for reads.
          const from = vaults.filter((v) => v !== vault && holders.get(c.id)?.has(v.name) && !unavailable.isDown(v.name));
          // Named like a restore's temporary: a killed run's leftover is swept with the staging area.
          const tmp = restoreTmpPath(join(ctx.stagingDir, 'catch-up'));
          try {
            if (!(await fetchFromAny(from, c.id, tmp))) return;
            chmodSync(tmp, 0o400);
            const r = await vault.putContent(c.id, tmp, c.size, { consume: true });
            events.push({ type: 'ContentStored', data: { content_id: c.id, vault: vault.name, size: c.size, sent: r.sent, chunks: r.chunks ?? null } });
            contents++;
            bytes += r.sent;
            ctx.reporter.progress?.({ phase: `copying into vault "${vault.name}"`, files: contents, totalFiles: lacking, bytes });
          } catch (err) {
            error ??= vaultProblem(vault.name, err);
            unavailable.mark(vault.name, error);
          } finally {
            rmSync(tmp, { force: true });
          }
        }),
      ),
    );
    // The objects must be durable before the journal says the vault holds them.
    await vault.flush();
    ctx.store.append(events);
  }
  return { vault: vault.name, contents, bytes, left: lacking - contents, error };
}

/** Fetches a content (verified) from the first vault that gives it; false when none could. */
async function fetchFromAny(from: readonly Vault[], contentId: string, tmp: string): Promise<boolean> {
  for (const holder of from) {
    try {
      await holder.getContent(contentId, tmp);
      return true;
    } catch {
      rmSync(tmp, { force: true });
    }
  }
  return false;
}
