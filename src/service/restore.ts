// `bt restore FILE`: writes a chosen version beside the original (or elsewhere), verified, with its metadata.
import { crypto } from '../core/lazy-builtin.js';
import { chmodSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { BtError, errnoCode, integrityError, userError, usageError, vaultError } from '../core/errors.js';
import { parseUserTime } from '../core/time.js';
import { defaultFileMode, mkdirForUser } from '../core/umask.js';
import { pathExists } from '../fs/paths.js';
import { applyMetadata, cannotWriteInto, inUserTerms, noSpaceToRestore, placeRestored, refuseSpecialTarget, restoreTmpPath, sweepRestoreTemporaries } from '../fs/restore-file.js';
import type { Snapshot } from '../projections/queries.js';
import { assembleFromVaults } from '../vaults/chunked-content.js';
import { type Vault, VaultObjectError } from '../vaults/vault.js';
import type { Context } from './context.js';
import { locateFile } from './locate.js';

export interface VersionChoice {
  readonly version?: number;
  readonly checksum?: string;
  readonly at?: string;
}

export interface RestoreOptions extends VersionChoice {
  readonly output?: string;
  /** The output was given as a directory (`out/`): the file goes inside it, made if missing (as with cp). */
  readonly outputIsDirectory?: boolean;
  readonly force: boolean;
  readonly contentOnly: boolean;
}

export interface RestoreResult {
  readonly output: string;
  readonly version: number;
  readonly contentId: string | null;
  readonly size: number;
  readonly vault: string | null;
  /** Metadata that could not be restored (e.g. owner without privileges). */
  readonly warnings: readonly string[];
}

export async function restoreFile(ctx: Context, abs: string, opts: RestoreOptions): Promise<RestoreResult> {
  const { file } = locateFile(ctx, abs);
  const snapshots = ctx.store.queries.findFileSnapshotsForFile(file);
  if (snapshots.length === 0) throw userError(`${abs} has no backed-up version yet`, 'run `bt backup` first');
  const { snapshot, number } = chooseVersion(abs, snapshots, opts);
  let output = opts.output ?? `${abs}.${snapshot.content_id ?? linkChecksum(snapshot)}`;
  if (opts.output && (opts.outputIsDirectory || isDirectory(output))) output = join(output, basename(abs));
  if (pathExists(output) && !opts.force) {
    throw userError(`${output} already exists`, 'use --force to overwrite it, or --output to write elsewhere');
  }
  if (opts.force) refuseSpecialTarget(output);
  if (!inUserTerms(() => mkdirForUser(dirname(output)))) sweepRestoreTemporaries(dirname(output));
  const written = await materialize(ctx, snapshot, output, opts.contentOnly);
  return { output, version: number, contentId: snapshot.content_id, size: snapshot.size, ...written };
}

export function chooseVersion(path: string, snapshots: readonly Snapshot[], choice: VersionChoice): { snapshot: Snapshot; number: number } {
  const given = [choice.version !== undefined, choice.checksum !== undefined, choice.at !== undefined].filter(Boolean).length;
  if (given > 1) throw usageError('choose a version with only one of --version, --checksum and --at');
  const pick = (i: number): { snapshot: Snapshot; number: number } => ({ snapshot: snapshots[i]!, number: i + 1 });
  if (choice.version !== undefined) {
    const n = choice.version;
    if (!Number.isInteger(n) || n < 1 || n > snapshots.length) {
      throw userError(`${path} has no version ${choice.version}`, `it has versions 1 to ${snapshots.length}; see \`bt log\``);
    }
    return pick(n - 1);
  }
  if (choice.checksum !== undefined) {
    const prefix = choice.checksum.toLowerCase();
    if (!/^[0-9a-f]{4,64}$/.test(prefix)) throw usageError(`--checksum: "${choice.checksum}" is not a hex prefix of 4 to 64 digits`);
    const matches = new Set(snapshots.filter((s) => s.content_id?.startsWith(prefix)).map((s) => s.content_id));
    if (matches.size === 0) throw userError(`${path} has no version with checksum ${prefix}`, 'see `bt log` for its checksums');
    if (matches.size > 1) throw userError(`checksum prefix ${prefix} matches ${matches.size} versions of ${path}`, 'give more digits');
    // The newest version with that content (same bytes, maybe newer metadata).
    for (let i = snapshots.length - 1; i >= 0; i--) if (snapshots[i]!.content_id?.startsWith(prefix)) return pick(i);
  }
  if (choice.at !== undefined) {
    const at = parseUserTime(choice.at, '--at');
    for (let i = snapshots.length - 1; i >= 0; i--) if (Date.parse(snapshots[i]!.staged_at) <= at) return pick(i);
    throw userError(`${path} has no version as old as ${choice.at}`, `its first version is from ${snapshots[0]!.staged_at}`);
  }
  return pick(snapshots.length - 1);
}

const linkChecksum = (s: Snapshot): string => crypto().createHash('sha256').update(s.link_target ?? '').digest('hex');

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Writes a snapshot at `output`: fetched into a temporary file beside it (verified by the vault), given its
 * metadata, then renamed into place, so `output` never holds unverified or partial bytes.
 */
export async function materialize(
  ctx: Context,
  snapshot: Snapshot,
  output: string,
  contentOnly: boolean,
  holders?: ReadonlyMap<string, ReadonlySet<string>>,
): Promise<{ vault: string | null; warnings: string[] }> {
  const warnings: string[] = [];
  const tmp = restoreTmpPath(output);
  let vault: string | null = null;
  try {
    if (snapshot.kind === 'symlink') {
      symlinkSync(snapshot.link_target ?? '', tmp);
    } else {
      claimOutput(tmp, output);
      const known = holders ? [...(holders.get(snapshot.content_id!) ?? [])] : undefined;
      vault = await fetchContent(ctx, snapshot.content_id!, tmp, known);
      if (contentOnly) chmodSync(tmp, defaultFileMode());
    }
    if (!contentOnly) applyMetadata(snapshot, tmp, warnings);
    placeRestored(tmp, output);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return { vault, warnings };
}

/**
 * Creates the temporary file the vault then fills: a place bt cannot write is the output's problem, said
 * as such, not a failure of every vault.
 */
function claimOutput(tmp: string, output: string): void {
  try {
    writeFileSync(tmp, '', { flag: 'wx', mode: 0o600 });
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOSPC') throw noSpaceToRestore(dirname(output));
    throw cannotWriteInto(dirname(output), code ?? String(err));
  }
}

/**
 * Tries the vaults that hold the content first, in the config's order (the user lists a nearby disk before a
 * bucket that charges for reads), then every other vault; returns the one that served it.
 */
export async function fetchContent(ctx: Context, contentId: string, output: string, knownHolders?: readonly string[]): Promise<string> {
  const vaults = await ctx.vaults();
  const holders = knownHolders ?? ctx.store.queries.contentLocations(contentId);
  const ordered: Vault[] = [...vaults.filter((v) => holders.includes(v.name)), ...vaults.filter((v) => !holders.includes(v.name))];
  const failures: string[] = [];
  let damaged = 0;
  for (const vault of ordered) {
    try {
      await vault.getContent(contentId, output);
      return vault.name;
    } catch (err) {
      // Writing the output filled its disk: no other vault would do better.
      if (errnoCode(err) === 'ENOSPC' || errnoCode(err) === 'EDQUOT') throw noSpaceToRestore(dirname(output));
      if (err instanceof VaultObjectError) damaged++;
      failures.push(err instanceof BtError ? err.message : `vault "${vault.name}": ${String(err)}`);
    }
  }
  if (ordered.length === 0) throw vaultError('no vault is configured', 'add one with `bt config vault add`');
  // Each copy damaged: a chunked content may still be whole across them, each vault having lost another chunk.
  if (damaged === ordered.length && ordered.length > 1) {
    if (await assembleFromVaults(ordered, contentId, output)) return ordered.map((v) => v.name).join(' + ');
  }
  const message = `content ${contentId.slice(0, 12)} could not be read from any vault: ${failures.join('; ')}`;
  // Recorded only in vaults bt.toml no longer names: missing from the others is expected, not corruption.
  const elsewhere = holders.filter((name) => !vaults.some((v) => v.name === name));
  if (elsewhere.length > 0 && elsewhere.length === holders.length) {
    const named = elsewhere.map((name) => `"${name}"`).join(' and ');
    throw vaultError(
      `content ${contentId.slice(0, 12)} is stored only in vault ${named}, which bt.toml does not configure (the configured vaults lack it)`,
      `add it back under that name (\`bt config vault add ${elsewhere[0]!}\` with its location), then retry`,
    );
  }
  // Every vault answered, and each copy is missing or damaged: that is corruption (exit 4), not an outage.
  if (damaged === ordered.length) throw integrityError(message, 'run `bt check --read-data` to see what else it affects');
  throw vaultError(message);
}
