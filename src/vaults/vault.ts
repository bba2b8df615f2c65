// The Vault contract: where content and metadata are kept. Every implementation passes test/vault-contract.
import { BtError, describeError } from '../core/errors.js';

export interface PutResult {
  /** Bytes sent to the vault: 0 when it already held the object. */
  readonly sent: number;
  /** True when the vault took the source file itself (moved it in); the caller must not expect it any more. */
  readonly consumed?: boolean;
}

export interface PutOptions {
  /**
   * The caller no longer needs the source (a staged copy whose content every other vault already holds):
   * a filesystem vault on the same device may move it in instead of linking or copying it.
   */
  readonly consume?: boolean;
}

export interface SetupReport {
  /** One line per thing done or checked, e.g. "created /backup/vault", "write, read-back and delete: ok". */
  readonly steps: readonly string[];
}

/**
 * Guarantees every vault gives (proved by the shared contract tests):
 * - putContent is idempotent: the same checksum is stored once; an existing object is not written again.
 *   The source file is one bt owns and never changes (a staged copy); with `consume` a vault may move it in.
 *   Objects of two vaults never share storage (no hard links), so damage to one is not damage to both.
 * - An object is complete and durable once `flush` resolves after its put: only then may the journal say so.
 * - getContent verifies the SHA-256 of the bytes before the output file appears; a mismatch is
 *   VaultObjectError('corrupt'), an absent object VaultObjectError('missing').
 * - Metadata keys are immutable: a key is written once (putMetadata refuses to replace different bytes).
 */
export interface Vault {
  readonly name: string;
  readonly kind: 'fs' | 's3';
  hasContent(checksum: string): Promise<boolean>;
  putContent(checksum: string, sourcePath: string, size: number, opts?: PutOptions): Promise<PutResult>;
  getContent(checksum: string, outputPath: string): Promise<void>;
  /** Deletes a content object; only `bt check --repair` does this, to replace a corrupt object. */
  removeContent?(checksum: string): Promise<void>;
  /** Makes every put so far durable. */
  flush(): Promise<void>;
  putMetadata(key: string, data: Buffer): Promise<void>;
  getMetadata(key: string): Promise<Buffer>;
  /** Keys under a prefix, sorted. */
  listMetadata(prefix: string): Promise<string[]>;
  /** Creates what is missing (layout, bucket) and proves it can write, read back and delete a probe. */
  validateSetup(): Promise<SetupReport>;
  close(): void;
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
  const message = describeError(err);
  const prefix = `vault "${vault}": `;
  return message.startsWith(prefix) ? message.slice(prefix.length) : message;
}
