// Vaults a backup found unavailable: skipped for a while instead of making every file wait for its own
// timeouts and retries, then tried again with one file, since a network blip or a disk being mounted ends.

import { BtError } from '../core/errors.js';
import { type Vault, vaultProblem } from '../vaults/vault.js';

/** How long a vault found unavailable is skipped before one file tries it again. */
export const RETRY_UNAVAILABLE_MS = 60_000;

export class UnavailableVaults {
  private readonly down = new Map<string, { readonly problem: string; until: number }>();

  constructor(
    private readonly now: () => number,
    private readonly retryAfterMs = RETRY_UNAVAILABLE_MS,
  ) {}

  /** Why not to try `vault` now, or undefined to try it. When a retry is due, one caller gets it. */
  reasonToSkip(vault: string): string | undefined {
    const d = this.down.get(vault);
    if (!d) return undefined;
    const now = this.now();
    if (now < d.until) return d.problem;
    d.until = now + this.retryAfterMs;
    return undefined;
  }

  /** Records that `vault` failed and cannot answer; true the first time (to say so once). */
  mark(vault: string, problem: string): boolean {
    const d = this.down.get(vault);
    if (d) {
      d.until = this.now() + this.retryAfterMs;
      return false;
    }
    this.down.set(vault, { problem, until: this.now() + this.retryAfterMs });
    return true;
  }

  /** What made `vault` unavailable, if it is. */
  reasonWhy(vault: string): string | undefined {
    return this.down.get(vault)?.problem;
  }

  /** Whether `vault` was found unavailable in this run (and has not taken anything since). */
  isDown(vault: string): boolean {
    return this.down.has(vault);
  }

  /** Records that `vault` took something; true when it had been found unavailable. */
  up(vault: string): boolean {
    return this.down.delete(vault);
  }
}

/**
 * After a failed put or get: can the vault answer at all? A lookup that fails too (disk not mounted, endpoint
 * unreachable, no credentials) means the next objects would fail the same way, each after its own timeouts
 * and retries. A lookup that works means the failure was this object's; the next ones are tried.
 */
export async function answers(vault: Vault, contentId: string): Promise<boolean> {
  return (await noneAnswers([vault], contentId)) === undefined;
}

/**
 * Why each of `vaults` cannot answer a lookup of `contentId`; undefined when one can. A restore asks once,
 * at its first failure: with no vault reachable (the disk not mounted) every file would fail alike.
 */
export async function noneAnswers(vaults: readonly Vault[], contentId: string): Promise<string[] | undefined> {
  const reasons: string[] = [];
  for (const vault of vaults) {
    try {
      await vault.hasContent(contentId);
      return undefined;
    } catch (err) {
      reasons.push(err instanceof BtError ? err.message : `vault "${vault.name}": ${vaultProblem(vault.name, err)}`);
    }
  }
  return reasons;
}
