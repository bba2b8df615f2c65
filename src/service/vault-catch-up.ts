// Brings every configured vault up to every content the others hold (ADR 0016): a vault that was away when
// versions were committed (a disk not plugged in, an endpoint down), or that was added later, gets them from
// a vault that has them. Each content is fetched and verified into the staging area, chunked when large as
// a backup would have staged it (the target keeps sharing chunks between versions, and no object outgrows
// what a FAT32 disk takes), then put.
import { chmodSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { errnoCode } from '../core/errors.js';
import type { DomainEvent } from '../events/codecs.js';
import { chunkFileInto } from '../fs/chunked-copy.js';
import { chunkThreshold } from '../fs/chunker.js';
import { restoreTmpPath } from '../fs/restore-file.js';
import { makeDirs } from '../fs/make-dirs.js';
import { type Vault, vaultProblem } from '../vaults/vault.js';
import type { Context } from './context.js';
import { type UnavailableVaults, answers } from './unavailable-vaults.js';

export interface CatchUp {
  readonly vault: string;
  /** Contents copied into it, and the bytes that cost. */
  readonly contents: number;
  readonly bytes: number;
  /** Contents it still lacks: no other vault could give them, it refused some (`refused`), or it failed (`error`). */
  readonly left: number;
  /** Why it refused a content while answering otherwise (the first such reason): tried again next run. */
  readonly refused: string | null;
  /** Why it stopped: it could not be reached, or the staging area had no room to copy through. */
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
  let refused: string | null = null;
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
          const record = (sent: number, chunks: number | null): void => {
            events.push({ type: 'ContentStored', data: { content_id: c.id, vault: vault.name, size: c.size, sent, chunks } });
            contents++;
            bytes += sent;
            ctx.reporter.progress?.({ phase: `copying into vault "${vault.name}"`, files: contents, totalFiles: lacking, bytes });
          };
          // There already, whole (another host put it; a vault renamed in bt.toml): recorded, nothing fetched.
          if (await vault.verifyContent(c.id, false).then(() => true, () => false)) {
            record(0, null);
            return;
          }
          // Named like a restore's temporary: a killed run's leftover is swept with the staging area.
          const tmp = restoreTmpPath(join(ctx.stagingDir, 'catch-up'));
          const chunked = restoreTmpPath(join(ctx.stagingDir, 'catch-up'));
          const stagingFull = (): void => {
            error ??= `no space left in the staging area ${ctx.stagingDir} to copy contents through; free some space there`;
          };
          try {
            const fetched = await fetchFromAny(from, c.id, tmp, unavailable);
            if (fetched === 'staging-full') return stagingFull();
            if (!fetched) return;
            chmodSync(tmp, 0o400);
            const source = c.size >= chunkThreshold() ? chunkedCopy(tmp, chunked) : tmp;
            if (source === 'staging-full') return stagingFull();
            const r = await vault.putContent(c.id, source, c.size, { consume: true });
            record(r.sent, r.chunks ?? null);
          } catch (err) {
            const code = errnoCode(err);
            // A vault that cannot answer (or is full) takes nothing more this run; one that refused this
            // object alone takes the next (a file too large for its filesystem, say).
            if (code === 'ENOSPC' || code === 'EDQUOT' || !(await answers(vault, c.id))) {
              error ??= vaultProblem(vault.name, err);
              unavailable.mark(vault.name, error);
            } else {
              refused ??= vaultProblem(vault.name, err);
            }
          } finally {
            rmSync(tmp, { force: true });
            rmSync(chunked, { force: true, recursive: true });
          }
        }),
      ),
    );
    // The objects must be durable before the journal says the vault holds them.
    await vault.flush();
    ctx.store.append(events);
  }
  return { vault: vault.name, contents, bytes, left: lacking - contents, refused, error };
}

/** The verified copy at `copy` as a chunk directory at `dir` (the copy removed), or 'staging-full'. */
function chunkedCopy(copy: string, dir: string): string | 'staging-full' {
  try {
    chunkFileInto(copy, dir);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOSPC' || code === 'EDQUOT') return 'staging-full';
    throw err;
  }
  rmSync(copy, { force: true });
  return dir;
}

/**
 * Fetches a content (verified) from the first vault that gives it; false when none could. A holder that
 * cannot answer at all is marked unavailable, so the next contents do not each wait out its timeouts.
 */
async function fetchFromAny(from: readonly Vault[], contentId: string, tmp: string, unavailable: UnavailableVaults): Promise<boolean | 'staging-full'> {
  for (const holder of from) {
    if (unavailable.isDown(holder.name)) continue;
    try {
      await holder.getContent(contentId, tmp);
      return true;
    } catch (err) {
      rmSync(tmp, { force: true });
      const code = errnoCode(err);
      if (code === 'ENOSPC' || code === 'EDQUOT') return 'staging-full';
      if (!(await answers(holder, contentId))) unavailable.mark(holder.name, vaultProblem(holder.name, err));
    }
  }
  return false;
}
