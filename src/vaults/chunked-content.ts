// What both vaults do alike with chunked content (ADR 0012): read a staged chunk directory's manifest, and
// read a stored content's chunks back in order, each chunk and the whole verified.
import { crypto } from '../core/lazy-builtin.js';
import { existsSync } from 'node:fs';
import { type FileHandle, open, readFile, readdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { restoreTmpPath } from '../fs/restore-file.js';
import { vaultError } from '../core/errors.js';
import { errnoCode } from '../core/errors.js';
import { type ChunkManifest, MANIFEST_FILE, decodeManifest, distinctChunks, sha256Hex } from '../fs/chunk-manifest.js';
import { openSource } from '../fs/source-file.js';
import { type ChunkSource, StagedCopyDamaged, type Vault, VaultObjectError } from './vault.js';

/** Whether a staged copy is a chunk directory (else a single file); a vanished copy fails as ENOENT. */
export async function isChunkDirectory(sourcePath: string): Promise<boolean> {
  return (await stat(sourcePath)).isDirectory();
}

/**
 * Whether a staged copy holds every byte of its content: a file does; a chunk directory does unless `bt add`
 * left out chunks the vaults held (then it is no source for `bt check --repair`).
 */
export async function stagedCopyComplete(path: string, checksum: string): Promise<boolean> {
  if (!(await isChunkDirectory(path))) return true;
  const { manifest } = await readStagedManifest(path, checksum);
  const present = new Set(await readdir(path));
  return distinctChunks(manifest).every(([id]) => present.has(id));
}

/** The manifest of a staged chunk directory, checked against the content id it is staged under. */
export async function readStagedManifest(dir: string, checksum: string): Promise<{ manifest: ChunkManifest; bytes: Buffer }> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, MANIFEST_FILE));
  } catch (err) {
    if (errnoCode(err) === 'ENOENT' && existsSync(dir)) throw new StagedCopyDamaged(`the staged copy ${dir} has lost its manifest`);
    throw err;
  }
  const m = decodeManifest(bytes, checksum);
  if (!m.ok) throw new StagedCopyDamaged(`the staged copy ${dir} has a damaged manifest (${m.reason})`);
  return { manifest: m.value, bytes };
}

/**
 * A chunk of a staged directory, verified: the vault must never store bytes under the wrong name. A chunk
 * the directory leaves out (every vault held it at `bt add`) comes from `source`.
 */
export async function readStagedChunk(dir: string, id: string, length: number, source?: ChunkSource): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(join(dir, id));
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
    return unstagedChunk(dir, id, length, source);
  }
  if (bytes.length !== length || sha256Hex(bytes) !== id) {
    throw new StagedCopyDamaged(`the staged chunk ${join(dir, id)} no longer has checksum ${id.slice(0, 12)}`);
  }
  return bytes;
}

/** A chunk the staged directory left out, from another vault; without a source, an error that says why. */
export async function unstagedChunk(dir: string, id: string, length: number, source?: ChunkSource): Promise<Buffer> {
  if (!source) throw vaultError(`the staged copy ${dir} has no chunk ${id.slice(0, 12)} and no other vault was given to read it from`);
  return source(id, length);
}

/**
 * Reads chunks from the first of `vaults` that has them intact, else from `fallback` (the file itself).
 * A chunk left out of a staged directory was in every vault at `bt add`; one lost since is read back from
 * the file when it has not changed. Every chunk is checked against its id and length, wherever it came from.
 */
export function chunkSourceFrom(vaults: readonly Vault[], fallback?: (id: string, length: number) => Promise<Buffer | undefined>): ChunkSource {
  const intact = (bytes: Buffer | undefined, id: string, length: number): bytes is Buffer =>
    bytes !== undefined && bytes.length === length && sha256Hex(bytes) === id;
  return async (id, length) => {
    for (const vault of vaults) {
      const bytes = await vault.readChunk(id).catch(() => undefined);
      if (intact(bytes, id, length)) return bytes;
    }
    const bytes = await fallback?.(id, length).catch(() => undefined);
    if (intact(bytes, id, length)) return bytes;
    throw vaultError(
      `chunk ${id.slice(0, 12)} was in every vault when the file was staged; no vault has it intact now and the file no longer holds it`,
      'change or touch the file and run `bt add` again; `bt check --read-data` names the damaged earlier version',
    );
  };
}

/**
 * Where a staged chunk directory's chunks lie in the file it was cut from: a chunk the directory left out
 * can be read back from there (offsets from the staged manifest). Undefined bytes when it cannot.
 */
export function chunkFromFile(dir: string, checksum: string, file: string): (id: string, length: number) => Promise<Buffer | undefined> {
  let offsets: Promise<Map<string, number>> | undefined;
  return async (id, length) => {
    offsets ??= readStagedManifest(dir, checksum).then(({ manifest }) => {
      const at = new Map<string, number>();
      let offset = 0;
      for (const [chunk, n] of manifest.chunks) {
        if (!at.has(chunk)) at.set(chunk, offset);
        offset += n;
      }
      return at;
    });
    const offset = (await offsets).get(id);
    if (offset === undefined) return undefined;
    const handle = await openSource(file);
    try {
      const bytes = Buffer.alloc(length);
      const { bytesRead } = await handle.read(bytes, 0, length, offset);
      return bytesRead === length ? bytes : undefined;
    } finally {
      await handle.close();
    }
  };
}

/**
 * A chunked content put together from several vaults, each chunk from the first that has it intact (every
 * chunk and the whole verified): each vault may have lost a different chunk. False when a chunk is in none.
 */
export async function assembleFromVaults(vaults: readonly Vault[], contentId: string, outputPath: string): Promise<boolean> {
  let manifest: ChunkManifest | undefined;
  for (const vault of vaults) {
    manifest = await vault.manifestFor(contentId).catch(() => undefined);
    if (manifest) break;
  }
  if (!manifest) return false;
  const lengths = new Map(manifest.chunks);
  const source = chunkSourceFrom(vaults);
  try {
    await writeChunkedContent('(several)', manifest, (id) => source(id, lengths.get(id) ?? 0).catch(() => undefined), 2, outputPath);
    return true;
  } catch {
    return false;
  }
}

/** The distinct chunk ids of a manifest. */
export const chunkIds = (m: ChunkManifest): string[] => distinctChunks(m).map(([id]) => id);

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
  const whole = crypto().createHash('sha256');
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

/**
 * Writes a chunked content at `outputPath`: chunk by chunk (`window` fetched ahead) into a temporary file
 * beside it, every chunk and the whole verified by readChunks, then renamed; nothing is left on failure.
 */
export async function writeChunkedContent(
  vault: string,
  m: ChunkManifest,
  fetch: (id: string) => Promise<Buffer | undefined>,
  window: number,
  outputPath: string,
): Promise<void> {
  const tmp = restoreTmpPath(outputPath);
  const handle = await open(tmp, 'wx', 0o600);
  try {
    await readChunks(vault, m, fetch, (bytes) => writeAll(handle, bytes), window);
    await handle.close();
  } catch (err) {
    await handle.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
  await rename(tmp, outputPath);
}

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let off = 0; off < bytes.length; ) off += (await handle.write(bytes, off, bytes.length - off)).bytesWritten;
}
