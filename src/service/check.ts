// `bt check`: the journal chain, and every content a snapshot needs in every vault said to hold it (for a
// chunked content: its manifest and every chunk); with --read-data each object or chunk is read back and its
// SHA-256 verified, and the whole content's; --repair re-uploads what it can.
import { existsSync, lstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import pLimit from 'p-limit';
import { describeError } from '../core/errors.js';
import { chunkThreshold } from '../fs/chunker.js';
import { chunkFileInto } from '../fs/chunked-copy.js';
import { copyHashing } from '../fs/hash-copy.js';
import { assembleFromVaults, chunkSourceFrom, stagedCopyComplete } from '../vaults/chunked-content.js';
import { findVaultConfig } from '../vaults/registry.js';
import { type Vault, VaultObjectError, vaultProblem } from '../vaults/vault.js';
import type { Context } from './context.js';
import { moveOlderStagedCopies } from './staging-area.js';
import { type SegmentProblem, checkVaultJournal, repairSegment } from './vault-journal-check.js';

export interface CheckOptions {
  readonly readData: boolean;
  readonly vault?: string;
  readonly repair: boolean;
  /**
   * Each problem also said on stderr as it is found (default): the live view of a long check whose report
   * goes to a file or pipe. Off when the report comes to the same terminal.
   */
  readonly liveProblems?: boolean;
}

export interface Problem {
  readonly vault: string;
  readonly contentId: string;
  /** missing: the vault lacks it; corrupt: its bytes do not match; unreadable: the vault failed to answer. */
  readonly problem: 'missing' | 'corrupt' | 'unreadable' | 'unstored';
  readonly detail?: string;
  readonly affects: readonly { path: string; version: number }[];
  repaired: boolean;
  repairNote?: string;
}

export interface CheckResult {
  readonly journalOk: boolean;
  readonly journalEvents: number;
  readonly journalProblem?: string;
  readonly contents: number;
  readonly objectsChecked: number;
  readonly problems: readonly Problem[];
  /** Vaults that could not answer at all (not mounted, unreachable): their contents were not checked. */
  readonly unavailable: readonly { vault: string; reason: string; contents: number }[];
  /**
   * Vaults the journal records contents in that are not in the config, with how many contents only such
   * vaults hold: nothing verifies those (e.g. a vault added again under another name after a recovery).
   */
  readonly unconfigured: readonly { vault: string; contents: number; alsoElsewhere: number }[];
  /** With --vault: how many contents the journal records in that vault (none: a renamed vault, likely). */
  readonly recordedInVault?: number;
  /** Damage to this host's journal as vaults hold it (what `bt recover` would read). */
  readonly journalCopies: readonly SegmentProblem[];
}

/** A content id no vault holds: asking for it shows whether a vault can answer at all. */
const PROBE_ID = '0'.repeat(64);

export async function check(ctx: Context, opts: CheckOptions): Promise<CheckResult> {
  const chain = ctx.store.journal.verifyChain();
  const q = ctx.store.queries;
  const all = await ctx.vaults();
  const vaults = opts.vault === undefined ? all : all.filter((v) => v.name === findVaultConfig(ctx.config, opts.vault!).name);
  const sized = q.snapshotContents();
  const contents = sized.map((c) => c.id);
  const sizeOf = new Map(sized.map((c) => [c.id, c.size]));
  const locations = q.allContentLocations();
  const scratch = mkdtempSync(join(ctx.config.base_dir, 'check-'));
  const problems: Problem[] = [];
  // A vault that cannot answer is one problem, said once, not one "unreadable" per object it should hold.
  const down = new Map<string, { vault: string; reason: string; contents: number }>();
  for (const vault of vaults) {
    try {
      await vault.hasContent(PROBE_ID);
    } catch (err) {
      down.set(vault.name, { vault: vault.name, reason: vaultProblem(vault.name, err), contents: 0 });
    }
  }
  const configured = new Set(all.map((v) => v.name));
  // Per vault recorded but not configured: contents only such vaults hold, and contents a configured one has too.
  const unconfigured = new Map<string, { contents: number; alsoElsewhere: number }>();
  const countUnconfigured = (holders: ReadonlySet<string>): void => {
    const covered = [...holders].some((h) => configured.has(h));
    for (const h of holders) {
      if (configured.has(h)) continue;
      const u = unconfigured.get(h) ?? { contents: 0, alsoElsewhere: 0 };
      if (covered) u.alsoElsewhere++;
      else u.contents++;
      unconfigured.set(h, u);
    }
  };
  let recordedInVault = 0;
  const journalCopies: SegmentProblem[] = [];
  let checked = 0;
  const limit = pLimit(Math.max(1, ctx.config.backup.concurrency));
  try {
    const found = (contentId: string, vault: string, problem: Problem['problem'], detail?: string): void => {
      problems.push({ vault, contentId, problem, ...(detail ? { detail } : {}), affects: q.versionsWithContent(contentId), repaired: false });
      if (opts.liveProblems !== false) ctx.reporter.notice(`vault "${vault}": content ${contentId.slice(0, 12)} is ${problem}${detail ? ` (${detail})` : ''}`);
    };
    for (let i = 0; i < contents.length; i += 1000) {
      await Promise.all(
        contents.slice(i, i + 1000).map((contentId) =>
          limit(async () => {
            const holders = locations.get(contentId);
            if (!holders || holders.size === 0) {
              found(contentId, '(none)', 'unstored', 'a snapshot needs it but no vault ever confirmed it');
              return;
            }
            countUnconfigured(holders);
            if (vaults.some((v) => holders.has(v.name))) recordedInVault++;
            if (opts.vault === undefined && ![...holders].some((h) => configured.has(h))) return;
            for (const vault of vaults) {
              if (!holders.has(vault.name)) continue;
              const unreachable = down.get(vault.name);
              if (unreachable) {
                unreachable.contents++;
                continue;
              }
              checked++;
              const verdict = await inspect(vault, contentId, opts.readData, sizeOf.get(contentId));
              if (verdict) found(contentId, vault.name, verdict.problem, verdict.detail);
            }
            ctx.reporter.progress?.({ phase: 'checking', files: checked, totalFiles: contents.length * vaults.length, bytes: 0 });
          }),
        ),
      );
    }
    for (const vault of vaults) {
      if (down.has(vault.name)) continue;
      try {
        // A repair reads the whole copy first: it mends only a copy that is this journal's throughout.
        journalCopies.push(...(await checkVaultJournal(ctx, vault, opts.readData || opts.repair)));
      } catch (err) {
        down.set(vault.name, { vault: vault.name, reason: vaultProblem(vault.name, err), contents: 0 });
      }
    }
    if (opts.liveProblems !== false) for (const p of journalCopies) ctx.reporter.notice(`vault "${p.vault}": journal segment ${p.key}: ${p.problem}`);
    if (opts.repair) {
      if (problems.length > 0) moveOlderStagedCopies(ctx.stagingDir, ctx.store.queries);
      for (const p of problems) await repair(ctx, all, p, locations, scratch);
      for (const p of journalCopies) await repairJournalCopy(ctx, vaults, p);
      await Promise.all(all.map((v) => v.flush()));
      // One repair can mend another problem: a chunk two versions share, written again for one of them.
      for (const p of problems) {
        const vault = all.find((v) => v.name === p.vault);
        if (p.repaired || !vault || p.problem === 'unstored') continue;
        if ((await inspect(vault, p.contentId, opts.readData, sizeOf.get(p.contentId))) === undefined) {
          p.repaired = true;
          p.repairNote = 'by another repair (a chunk it shares)';
        }
      }
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return {
    journalOk: chain.ok,
    journalEvents: ctx.store.journal.head().seq,
    ...(chain.ok ? {} : { journalProblem: `event ${chain.seq}: ${chain.problem}` }),
    contents: contents.length,
    objectsChecked: checked,
    problems,
    unavailable: [...down.values()],
    unconfigured: [...unconfigured].map(([vault, n]) => ({ vault, ...n })),
    ...(opts.vault === undefined ? {} : { recordedInVault }),
    journalCopies,
  };
}

/** A damaged or missing segment of this host's journal, written again from the local journal where it can be. */
async function repairJournalCopy(ctx: Context, vaults: readonly Vault[], p: SegmentProblem): Promise<void> {
  const vault = vaults.find((v) => v.name === p.vault);
  if (p.kind === 'ahead') return;
  if (!vault || !p.repairable) {
    p.repairNote = 'the local journal cannot stand in for it (or the vault holds other events of this host id)';
    return;
  }
  try {
    await repairSegment(ctx, vault, p);
    // The next sync reads the vault's copy again instead of trusting what it remembered of it.
    ctx.store.syncState.forget(vault.name);
    p.repaired = true;
    p.repairNote = 'written again from the local journal';
  } catch (err) {
    p.repairNote = vaultProblem(vault.name, err);
  }
}

async function inspect(vault: Vault, contentId: string, readData: boolean, size?: number): Promise<{ problem: Problem['problem']; detail?: string } | undefined> {
  try {
    await vault.verifyContent(contentId, readData, size);
    return undefined;
  } catch (err) {
    // A chunked content's problem is usually one chunk (or its manifest): name it.
    if (err instanceof VaultObjectError) return err.key === `content/${contentId}` ? { problem: err.problem } : { problem: err.problem, detail: err.key };
    return { problem: 'unreadable', detail: describeError(err) };
  }
}

/**
 * A verified copy of a content in `scratch` from `fill` (true when the bytes are the content), chunked when
 * large as a backup would have stored it; undefined when that source has no intact copy.
 */
async function copyForRepair(scratch: string, contentId: string, fill: (copy: string) => Promise<boolean>): Promise<string | undefined> {
  const copy = join(scratch, `repair-${contentId}`);
  const chunked = join(scratch, `repair-${contentId}.chunks`);
  try {
    if (!(await fill(copy))) {
      rmSync(copy, { force: true });
      return undefined;
    }
    if (statSync(copy).size < chunkThreshold()) return copy;
    chunkFileInto(copy, chunked);
    rmSync(copy, { force: true });
    return chunked;
  } catch {
    rmSync(copy, { force: true });
    rmSync(chunked, { force: true, recursive: true });
    return undefined;
  }
}

/** Re-stores a content in the vault that lost it: from a staged copy, another vault that has it intact, or a file that still holds it. */
async function repair(ctx: Context, vaults: readonly Vault[], p: Problem, locations: Map<string, Set<string>>, scratch: string): Promise<void> {
  const target = vaults.find((v) => v.name === p.vault);
  if (!target) {
    p.repairNote = 'no vault holds it: nothing to copy from';
    return;
  }
  let source: string | undefined;
  for (const stageId of ctx.store.queries.stagesWithContent(p.contentId)) {
    if (existsSync(ctx.stagedPath(stageId)) && (await stagedCopyComplete(ctx.stagedPath(stageId), p.contentId).catch(() => false))) {
      source = ctx.stagedPath(stageId);
      p.repairNote = 'from a staged copy';
      break;
    }
  }
  // The vaults the journal names first, then any other configured one: after a recovery onto a machine whose
  // new vault took the old one's name, the old vault (added under another name) holds what the journal
  // records under that name. Every copy is verified on the way.
  const recorded = (v: Vault): boolean => locations.get(p.contentId)?.has(v.name) ?? false;
  for (const other of [...vaults.filter(recorded), ...vaults.filter((v) => !recorded(v))]) {
    if (source || other === target) continue;
    source = await copyForRepair(scratch, p.contentId, (copy) => other.getContent(p.contentId, copy).then(() => true));
    if (source) p.repairNote = `from vault "${other.name}"`;
  }
  // Each vault may have lost another chunk of it: put together chunk by chunk, each verified.
  if (!source && vaults.length > 1) {
    source = await copyForRepair(scratch, p.contentId, (copy) => assembleFromVaults(vaults, p.contentId, copy));
    if (source) p.repairNote = 'chunk by chunk from the vaults that hold each intact';
  }
  // Last, the files themselves: one that still holds these bytes (hashed to be sure) is as good a source.
  for (const path of new Set(p.affects.map((a) => a.path))) {
    if (source) break;
    source = await copyForRepair(scratch, p.contentId, async (copy) => {
      if (!lstatSync(path, { throwIfNoEntry: false })?.isFile()) return false;
      return (await copyHashing(path, copy)).sha256 === p.contentId;
    });
    if (source) p.repairNote = `from ${path}, which still holds those bytes`;
  }
  if (!source) {
    p.repairNote = 'no intact copy anywhere (no staged copy, no vault with it or each of its chunks intact, no file of this host that still has it; another host sharing the vault may have one: run `bt check --repair` there)';
    return;
  }
  try {
    if (p.problem === 'corrupt') {
      if (!target.removeContent) throw new Error('this vault cannot replace a corrupt object');
      await target.removeContent(p.contentId);
    }
    // A staged chunk directory may leave out chunks other vaults hold: those come from them.
    const others = vaults.filter((v) => v !== target);
    await target.putContent(p.contentId, source, statSync(source).size, { repair: true, chunkSource: chunkSourceFrom([...others, target]) });
    p.repaired = true;
  } catch (err) {
    p.repairNote = `repair failed: ${describeError(err)}`;
  }
}
