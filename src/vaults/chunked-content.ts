// What both vaults do alike with chunked content (ADR 0012): read a staged chunk directory's manifest, and
// read a stored content's chunks back in order, each chunk and the whole verified.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { vaultError } from '../core/errors.js';
import { type ChunkManifest, MANIFEST_FILE, decodeManifest, sha256Hex } from '../fs/chunk-manifest.js';
import { VaultObjectError } from './vault.js';

/** Whether a staged copy is a chunk directory (else a single file); a vanished copy fails as ENOENT. */
export async function isChunkDirectory(sourcePath: string): Promise<boolean> {
  return (await stat(sourcePath)).isDirectory();
}

/** The manifest of a staged chunk directory, checked against the content id it is staged under. */
export async function readStagedManifest(dir: string, checksum: string): Promise<{ manifest: ChunkManifest; bytes: Buffer }> {
  const bytes = await readFile(join(dir, MANIFEST_FILE));
  const m = decodeManifest(bytes, checksum);
  if (!m.ok) throw vaultError(`the staged copy ${dir} has a damaged manifest (${m.reason})`, 'run `bt add` on the file again');
  return { manifest: m.value, bytes };
}

/** A chunk of a staged directory, verified: the vault must never store bytes under the wrong name. */
export async function readStagedChunk(dir: string, id: string, length: number): Promise<Buffer> {
  const bytes = await readFile(join(dir, id));
  if (bytes.length !== length || sha256Hex(bytes) !== id) {
    throw vaultError(`the staged chunk ${join(dir, id)} no longer has checksum ${id.slice(0, 12)}`, 'run `bt add` on the file again');
  }
  return bytes;
}

/** A stored manifest's bytes, decoded; anything else is a corrupt manifest. */
export function parseStoredManifest(vault: string, checksum: string, bytes: Buffer): ChunkManifest {
  const m = decodeManifest(bytes, checksum);
  if (!m.ok) throw new VaultObjectError('corrupt', vault, `manifests/${checksum}`);
  return m.value;
}

/**
 * Reads a chunked content in file order: `fetch` gives a chunk's bytes (undefined when absent), up to
 * `window` chunks ahead; each chunk's length and SHA-256 are checked before `sink` sees it, and the whole
 * content's SHA-256 at the end. Memory: `window` chunks.
 */
export async function readChunks(
  vault: string,
  m: ChunkManifest,
  fetch: (id: string) => Promise<Buffer | undefined>,
  sink: ((bytes: Buffer) => Promise<void>) | null,
  window: number,
): Promise<void> {
  const get = async (id: string, length: number): Promise<Buffer> => {
    const bytes = await fetch(id);
    if (bytes === undefined) throw new VaultObjectError('missing', vault, `chunks/${id}`);
    if (bytes.length !== length || sha256Hex(bytes) !== id) throw new VaultObjectError('corrupt', vault, `chunks/${id}`);
    return bytes;
  };
  const whole = createHash('sha256');
  const ahead: Promise<Buffer>[] = [];
  let next = 0;
  for (let i = 0; i < m.chunks.length; i++) {
    while (next < m.chunks.length && ahead.length < Math.max(1, window)) {
      const [id, length] = m.chunks[next++]!;
      const p = get(id, length);
      p.catch(() => {}); // a later chunk's failure is reported when its turn comes, or not at all
      ahead.push(p);
    }
    const bytes = await ahead.shift()!;
    whole.update(bytes);
    if (sink) await sink(bytes);
  }
  if (whole.digest('hex') !== m.sha256) throw new VaultObjectError('corrupt', vault, `manifests/${m.sha256}`);
}
