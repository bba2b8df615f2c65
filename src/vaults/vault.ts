// The Vault contract: where content and metadata are kept. Every implementation passes test/vault-contract.
import { BtError, describeError, errnoCode } from '../core/errors.js';
import type { ChunkManifest } from '../fs/chunk-manifest.js';

export interface PutResult {
  /** Bytes sent to the vault: 0 when it already held the object; for chunked content, the chunks it lacked. */
  readonly sent: number;
  /** True when the vault took the source file itself (moved it in); the caller must not expect it any more. */
  readonly consumed?: boolean;
  /** Present when the vault holds the content chunked: the chunks its manifest lists. */
  readonly chunks?: number;
}

export interface PutOptions {
  /**
   * The caller no longer needs the source (a staged copy whose content every other vault already holds):
   * a filesystem vault on the same device may move it in instead of linking or copying it.
   */
  readonly consume?: boolean;
  /**
   * `bt check --repair`: what the vault holds of this content is not trusted. Every part already there is
   * read back and verified; a missing or damaged one is written again, and the manifest after them.
   */
  readonly repair?: boolean;
  /**
   * Where a chunk comes from when the staged chunk directory does not hold it: `bt add` leaves out the
   * chunks every vault already held (ADR 0012). Needed only by a vault that lacks such a chunk (one added
   * since, or one that stored the earlier version whole); it reads the chunk from another vault, verified.
   */
  readonly chunkSource?: ChunkSource;
}

/** A chunk's bytes, verified against its id and length, from wherever they are kept; throws when nowhere. */
export type ChunkSource = (id: string, length: number) => Promise<Buffer>;

export interface SetupReport {
  /** One line per thing done or checked, e.g. "created /backup/vault", "write, read-back and delete: ok". */
  readonly steps: readonly string[];
  /** The vault's own id (a filesystem vault's marker), which the host then records as the one it uses. */
  readonly id?: string;
}

/**
 * What this host recorded of a filesystem vault's id (its marker's): an empty mount point another host set
 * up as a vault is a different vault under the same path, and must not take this host's backups.
 */
export interface VaultIdentity {
  recorded(): string | undefined;
  record(id: string): void;
}

/**
 * Guarantees every vault gives (proved by the shared contract tests):
 * - A content is stored whole (one object) or chunked (a manifest naming chunk objects; ADR 0012). The
 *   source of putContent is a staged copy bt owns and never changes: a file, stored whole, or a chunk
 *   directory (chunk files and manifest.json, src/fs/chunked-copy.ts), stored chunked. With `consume` a vault
 *   may move the source (or its chunk files) in. Objects of two vaults never share storage (no hard links),
 *   so damage to one is not damage to both.
 * - putContent is idempotent: the same checksum is stored once; an existing object or chunk is not written
 *   again. A manifest is written only after every chunk it names is stored (and durable), so an interrupted
 *   put leaves no manifest, and the next put sends only the chunks still missing.
 * - An object is complete and durable once `flush` resolves after its put: only then may the journal say so.
 * - getContent verifies the SHA-256 of every chunk and of the whole content before the output file appears;
 *   a mismatch is VaultObjectError('corrupt'), an absent object or chunk VaultObjectError('missing').
 * - Metadata keys are immutable: a key is written once (putMetadata refuses to replace different bytes).
 */
export interface Vault {
  readonly name: string;
  readonly kind: 'fs' | 's3';
  /** True when the vault has the whole object (of `size` bytes, when given) or the manifest (cheap: does not look at the chunks). */
  hasContent(checksum: string, size?: number): Promise<boolean>;
  putContent(checksum: string, sourcePath: string, size: number, opts?: PutOptions): Promise<PutResult>;
  getContent(checksum: string, outputPath: string): Promise<void>;
  /**
   * `bt check`: resolves when the content is whole here: its object (of `size` bytes, when given), or its
   * manifest and every chunk; with `readData` every byte is read back and verified. Throws VaultObjectError
   * naming the first bad object (an object cut short is 'corrupt').
   */
  verifyContent(checksum: string, readData: boolean, size?: number): Promise<void>;
  /**
   * Deletes a content's object or manifest (chunks may be shared with other contents and stay); only
   * `bt check --repair` does this, to replace a corrupt one.
   */
  removeContent?(checksum: string): Promise<void>;
  /** The manifest of a content stored chunked here (unverified chunks); undefined when stored whole or absent. */
  manifestFor(checksum: string): Promise<ChunkManifest | undefined>;
  /** The distinct chunks (id, length) of a content stored chunked here; undefined when stored whole or absent. */
  chunksOf(checksum: string): Promise<readonly (readonly [string, number])[] | undefined>;
  /** Whether a chunk object is there with its length (not read: a stat on disk, a HEAD on S3). */
  hasChunk(id: string, length: number): Promise<boolean>;
  /** A chunk's bytes as stored (unverified: the caller checks them), or undefined when it is absent. */
  readChunk(id: string): Promise<Buffer | undefined>;
  /**
   * Where a whole object would be on a local disk, for readers on other threads (restore workers); they
   * verify what they read and fall back to getContent when it is absent. Only vaults on a local disk.
   */
  localObjectPath?(checksum: string): string;
  /**
   * Records this vault's id (a filesystem vault's marker) as the one this host uses under its name, unless
   * one is recorded: called once this host's journal was written there, under the host lock.
   */
  adoptIdentity?(): void;
  /** Makes every put so far durable. */
  flush(): Promise<void>;
  /**
   * Forgets what this object learnt of the vault (objects known present or absent, directories made): it
   * holds only while no other bt can change the vault, i.e. while this one holds the host lock.
   */
  forgetCaches(): void;
  putMetadata(key: string, data: Buffer): Promise<void>;
  /**
   * Writes `key` whatever it holds now: only for `bt check --repair`, which rewrites a journal segment found
   * damaged with the same events from the local journal (keys are otherwise written once).
   */
  replaceMetadata(key: string, data: Buffer): Promise<void>;
  getMetadata(key: string): Promise<Buffer>;
  /** Keys under a prefix, sorted. */
  listMetadata(prefix: string): Promise<string[]>;
  /** Creates what is missing (layout, bucket) and proves it can write, read back and delete a probe. */
  validateSetup(): Promise<SetupReport>;
  close(): void;
}

/**
 * A staged copy that no longer holds what `bt add` recorded (a manifest gone or damaged, bytes changed):
 * never stored, and once no vault holds the content, the stage is dropped so the next `bt add` stages the
 * file again (backup.ts).
 */
export class StagedCopyDamaged extends BtError {
  constructor(message: string) {
    super('vault', message, 'run `bt add` on the file again');
  }
}

export class VaultObjectError extends BtError {
  constructor(
    readonly problem: 'missing' | 'corrupt',
    readonly vault: string,
    readonly key: string,
  ) {
    super(
      problem === 'corrupt' ? 'integrity' : 'vault',
      problem === 'corrupt'
        ? `vault "${vault}": object ${key} is corrupt (its SHA-256 does not match)`
        : `vault "${vault}": object ${key} is missing`,
      problem === 'corrupt' ? 'run `bt check --read-data` to see what it affects' : undefined,
    );
  }
}

export const isSha256 = (s: string): boolean => /^[0-9a-f]{64}$/.test(s);

/** Metadata keys are '/'-separated words; nothing that could climb out of the vault. */
export function checkMetadataKey(key: string): void {
  if (!/^[A-Za-z0-9_.-]+(\/[A-Za-z0-9_.-]+)*$/.test(key) || key.split('/').some((p) => p === '.' || p === '..')) {
    throw new Error(`invalid metadata key: ${key}`);
  }
}

/** An error about a vault as one line without the vault's name twice (vault errors already carry it). */
export function vaultProblem(vault: string, err: unknown): string {
  // A filesystem vault's disk: said in its terms, not as an internal error.
  const code = errnoCode(err);
  if (code === 'ENOSPC' || code === 'EDQUOT') return 'no space left on its disk; free some space there';
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return `cannot write there (${code}); check the vault directory's owner and mount`;
  const message = describeError(err);
  const prefix = `vault "${vault}": `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}
