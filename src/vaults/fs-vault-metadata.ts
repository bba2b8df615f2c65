// A filesystem vault's metadata keys (journal segments): files under ROOT/metadata, written once, read back.
import { readFile, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, vaultError } from '../core/errors.js';
import { writeFileAtomic, writeFileExclusive } from '../fs/atomic.js';
import { VaultObjectError, checkMetadataKey } from './vault.js';
import { METADATA_TEMPORARY, sweepOldTemporaries } from './vault-temporaries.js';

/** What the metadata side needs of its vault: where it is, its marker checked, and directories made inside it. */
export interface MetadataHost {
  name(): string;
  root(): string;
  ensureReady(): void;
  makeDirsInside(dir: string): void;
}

export class FsVaultMetadata {
  /** Directories whose old temporaries this process swept (once each). */
  private readonly swept = new Set<string>();

  constructor(private readonly vault: MetadataHost) {}

  private path(key: string): string {
    checkMetadataKey(key);
    return join(this.vault.root(), 'metadata', key);
  }

  async put(key: string, data: Buffer): Promise<void> {
    this.vault.ensureReady();
    const path = this.path(key);
    const existing = await readFile(path).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (existing) {
      if (existing.equals(data)) return;
      throw vaultError(`vault "${this.vault.name()}": metadata ${key} exists with other bytes; refusing to overwrite it`);
    }
    const dir = dirname(path);
    this.vault.makeDirsInside(dir);
    // A host writes its metadata into its own directories: where it writes is where its killed writes were.
    if (!this.swept.has(dir)) {
      this.swept.add(dir);
      sweepOldTemporaries(dir, METADATA_TEMPORARY);
    }
    // Another writer between the look above and here (two machines with one host id syncing at once): the
    // name is taken whole or not at all, and the loser is refused like any divergent segment.
    if (await writeFileExclusive(path, data, 0o400)) return;
    if ((await readFile(path)).equals(data)) return;
    throw vaultError(`vault "${this.vault.name()}": metadata ${key} exists with other bytes; refusing to overwrite it`);
  }

  async replace(key: string, data: Buffer): Promise<void> {
    this.vault.ensureReady();
    const path = this.path(key);
    this.vault.makeDirsInside(dirname(path));
    // A new file renamed over the old one: a reader sees the damaged segment or the mended one, never half.
    await writeFileAtomic(path, data, 0o400);
  }

  async get(key: string): Promise<Buffer> {
    this.vault.ensureReady();
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new VaultObjectError('missing', this.vault.name(), `metadata/${key}`);
      throw err;
    }
  }

  async list(prefix: string): Promise<string[]> {
    this.vault.ensureReady();
    const base = join(this.vault.root(), 'metadata');
    const out: string[] = [];
    const visit = async (rel: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(rel === '' ? base : join(base, rel), { withFileTypes: true });
      } catch (err) {
        if (errnoCode(err) === 'ENOENT') return;
        throw err;
      }
      for (const e of entries) {
        if (e.name.startsWith('.')) continue;
        const key = rel === '' ? e.name : `${rel}/${e.name}`;
        if (e.isDirectory()) {
          if (prefix.startsWith(`${key}/`) || key.startsWith(prefix) || `${key}/`.startsWith(prefix)) await visit(key);
        } else if (key.startsWith(prefix)) out.push(key);
      }
    };
    await visit('');
    return out.sort();
  }
}
