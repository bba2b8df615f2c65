// A vault in a local directory (a second disk, a NAS mount). Layout: docs/adr/0007-vault-layout.md, and for
// chunked content docs/adr/0012-content-defined-chunking.md.
import { crypto } from '../core/lazy-builtin.js';
import { type Stats, accessSync, constants, createReadStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { chmod, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative } from 'node:path';
import { restoreTmpPath } from '../fs/restore-file.js';
import { errnoCode, userError, vaultError } from '../core/errors.js';
import { decodeWith } from '../core/decode.js';
import * as t from 'io-ts';
import { faultPoint } from '../core/fault.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { type ChunkManifest, decodeManifest, distinctChunks, encodeManifest } from '../fs/chunk-manifest.js';
import { CHUNK_THRESHOLD } from '../fs/chunker.js';
import { flushFilesystem } from '../fs/durable.js';
import { copyHashing } from '../fs/hash-copy.js';
import { chunkIds, parseStoredManifest, readChunks, readStagedManifest, unstagedChunk, writeChunkedContent } from './chunked-content.js';
import { type PutOptions, type PutResult, type SetupReport, StagedCopyDamaged, type Vault, type VaultIdentity, VaultObjectError, isSha256 } from './vault.js';
import { makeDirs } from '../fs/make-dirs.js';
import { sweepOldTemporaries } from './vault-temporaries.js';
import { FsVaultMetadata } from './fs-vault-metadata.js';

export const MARKER = 'bt-vault.json';
const SMALL_OBJECT = 4 << 20;
/** Chunks read ahead while restoring: the disk reads the next while the previous is hashed and written. */
const READ_AHEAD = 2;

export class FileSystemVault implements Vault {
  readonly kind = 'fs' as const;
  private ready = false;
  private tmpSwept = false;
  private readonly metadata = new FsVaultMetadata({
    name: () => this.name,
    root: () => this.root,
    ensureReady: () => this.ensureReady(),
    makeDirsInside: (dir) => this.makeDirsInside(dir),
  });
  private unflushed: string[] = [];
  /** The marker's id as last read. */
  private seenId: string | undefined;
  private readonly fanouts = new Set<string>();

  constructor(
    readonly name: string,
    readonly root: string,
    private readonly identity?: VaultIdentity,
  ) {}

  contentPath(checksum: string): string {
    if (!isSha256(checksum)) throw new Error(`not a SHA-256: ${checksum}`);
    return join(this.root, 'content', checksum.slice(0, 2), checksum);
  }

  manifestPath(checksum: string): string {
    if (!isSha256(checksum)) throw new Error(`not a SHA-256: ${checksum}`);
    return join(this.root, 'manifests', checksum.slice(0, 2), checksum);
  }

  chunkPath(id: string): string {
    if (!isSha256(id)) throw new Error(`not a SHA-256: ${id}`);
    return join(this.root, 'chunks', id.slice(0, 2), id);
  }

  private ensureFanout(path: string): void {
    const fanout = dirname(path);
    if (this.fanouts.has(fanout)) return;
    this.makeDirsInside(fanout);
    this.fanouts.add(fanout);
  }

  /**
   * Makes directories inside the vault once its marker is (still) there. A disk unmounted since the vault
   * was first used (a long `bt watch`) leaves an empty mount point on another disk: objects written there
   * would vanish under the disk when it is mounted again, with events saying they are stored.
   */
  forgetCaches(): void {
    this.ready = false;
    this.fanouts.clear();
  }

  private makeDirsInside(dir: string): void {
    this.ready = false;
    this.ensureReady();
    const rel = relative(this.root, dir);
    if (rel.startsWith('..')) return void makeDirs(dir);
    // One level at a time below the root, never the root itself: a disk unplugged between the marker's
    // read and here fails (ENOENT, said as the vault not there) instead of mkdir -p making the vault's
    // path anew on the disk below (a watcher's backup did, and the disk could not be mounted back).
    let path = this.root;
    for (const part of rel.split('/')) {
      if (part === '') continue;
      path = join(path, part);
      try {
        mkdirSync(path);
      } catch (err) {
        if (errnoCode(err) !== 'EEXIST') throw err;
      }
    }
  }

  /** A vault that was never set up (or whose disk is not mounted) is an error, not a place to create files. */
  private ensureReady(): void {
    if (this.ready) return;
    let marker: Buffer;
    try {
      marker = readFileSync(join(this.root, MARKER));
    } catch (err) {
      if (errnoCode(err) === 'ENOTDIR') {
        throw vaultError(`vault "${this.name}": ${this.root} is not a directory`, 'point the vault\'s path in bt.toml at a directory');
      }
      const code = errnoCode(err);
      if (code === 'EACCES' || code === 'EPERM') {
        throw vaultError(
          `vault "${this.name}": cannot read ${join(this.root, MARKER)} (${code}): the vault belongs to another user account`,
          'a filesystem vault is owner-only: use it as the user who set it up (or share one through an S3 bucket)',
        );
      }
      if (!existsSync(this.root)) {
        throw vaultError(`vault "${this.name}": ${this.root} is not there (is its disk mounted?)`, 'mount the disk it lives on, or correct its path in bt.toml');
      }
      throw vaultError(
        `vault "${this.name}": ${this.root} is not set up (no ${MARKER})`,
        'mount the disk it lives on (only for a vault never set up: `bt config vault init`)',
      );
    }
    this.confirmIdentity(markerId(marker));
    this.ready = true;
    if (!this.tmpSwept) {
      this.tmpSwept = true;
      sweepOldTemporaries(join(this.root, 'tmp'));
    }
  }

  /**
   * The vault this host recorded under this name, if it recorded one. Reading records nothing (a restore
   * runs in a read transaction, and a new machine may look at a vault before it is pointed at the right
   * disk): the id is recorded once this host has written its journal there (adoptIdentity).
   */
  private confirmIdentity(id: string): void {
    this.seenId = id;
    const recorded = this.identity?.recorded();
    if (recorded === undefined || recorded === id) return;
    throw vaultError(
      `vault "${this.name}": ${this.root} holds another vault than the one this host backs up to (marker id ${id.slice(0, 8)}, this host's ${recorded.slice(0, 8)}): another disk, or an empty mount point set up by another host?`,
      'mount the right disk; only if this is the vault to use now (a recovery onto a new disk, a disk replaced on purpose), `bt config vault init` accepts it',
    );
  }

  adoptIdentity(): void {
    if (this.seenId !== undefined && this.identity?.recorded() === undefined) this.identity?.record(this.seenId);
  }

  // Metadata syscalls on a local disk take microseconds; doing them synchronously avoids a thread-pool
  // round trip per call, which dominated a backup of many small files.
  async hasContent(checksum: string, size?: number): Promise<boolean> {
    this.ensureReady();
    const whole = statIfThere(this.contentPath(checksum));
    if (whole) return size === undefined || whole.size === size;
    return existsSync(this.manifestPath(checksum));
  }

  async putContent(checksum: string, sourcePath: string, size: number, opts: PutOptions = {}): Promise<PutResult> {
    try {
      return await this.putContentOnce(checksum, sourcePath, size, opts);
    } catch (err) {
      // Its own directories gone while the source is still there: the disk may have gone (unplugged, a
      // mount point left empty). Said as such, once the marker is looked for again, not as ENOENT per file.
      if (errnoCode(err) === 'ENOENT' && existsSync(sourcePath)) {
        this.forgetCaches();
        this.ensureReady();
      }
      throw err;
    }
  }

  private async putContentOnce(checksum: string, sourcePath: string, size: number, opts: PutOptions): Promise<PutResult> {
    this.ensureReady();
    const final = this.contentPath(checksum);
    this.ensureFanout(final);
    // A file only: anything else in its place (a directory) is no object, and the put fails on it, said.
    // One of another length (cut short: a disk that filled, a copy stopped midway) is replaced, never
    // trusted: a stat tells it for free.
    const there = statSync(final, { throwIfNoEntry: false });
    if (there?.isFile()) {
      const intact = opts.repair ? (await hashFile(final)) === checksum : there.size === size;
      if (intact) return this.found([final], { sent: 0 });
      await rm(final, { force: true });
    }
    // Below the threshold a content is never chunked, so its staged copy is a file: no stat per small file
    // (a vanished one fails as ENOENT in the move or the copy).
    const settled = size >= CHUNK_THRESHOLD || opts.repair ? await this.putLarge(checksum, sourcePath, opts) : undefined;
    if (settled) return settled;
    if (opts.consume) {
      // The staged copy (read-only, never changed) becomes the object: one rename, no second copy of
      // the bytes and no unlink after the commit. Never a hard link: two vaults must not share an inode.
      if (this.moveIn(sourcePath, final)) return { sent: size, consumed: true };
    }
    await this.copyIn(checksum, sourcePath, final);
    return { sent: size };
  }

  /**
   * What a large staged copy (or a repair's source) settles before it is stored as one object: a chunk
   * directory is put chunk by chunk, and content this vault holds chunked already needs nothing. Undefined:
   * store the file whole.
   */
  private async putLarge(checksum: string, sourcePath: string, opts: PutOptions): Promise<PutResult | undefined> {
    let source;
    try {
      source = statSync(sourcePath);
    } catch (err) {
      // A vanished staged copy is no problem when the vault holds the content chunked; else it fails as ENOENT.
      const stored = errnoCode(err) === 'ENOENT' && !opts.repair ? this.storedManifest(checksum) : undefined;
      if (stored && this.holdsChunksOf(stored)) return this.foundManifest(checksum, stored);
      throw err;
    }
    if (source.isDirectory()) return this.putChunked(checksum, sourcePath, opts);
    if (source.size >= CHUNK_THRESHOLD && !opts.repair) {
      // Another host may have stored this content chunked (it stands only with its chunks whole; else the
      // whole file goes in beside it).
      const stored = this.storedManifest(checksum);
      if (stored && this.holdsChunksOf(stored)) return this.foundManifest(checksum, stored);
    }
    return undefined;
  }

  /**
   * A staged chunk directory: every chunk the vault lacks goes in (moved with `consume`, else copied and
   * verified), then, once they are durable, the manifest: a manifest never names an absent chunk.
   */
  private async putChunked(checksum: string, dir: string, opts: PutOptions): Promise<PutResult> {
    const { manifest } = await readStagedManifest(dir, checksum);
    if (!opts.repair) {
      // A stored manifest stands only with its chunks: one lost or cut short since would make every new
      // version of this content unrestorable while the chunks in hand were thrown away.
      const stored = this.storedManifest(checksum);
      if (stored && this.holdsChunksOf(stored)) return this.foundManifest(checksum, stored);
    }
    const placed: string[] = [];
    let sent = 0;
    for (const [id, length] of distinctChunks(manifest)) {
      const final = this.chunkPath(id);
      this.ensureFanout(final);
      const size = this.chunkSize(id);
      if (size === length) {
        // Shared with other contents, or left by an interrupted put: not sent again, but flushed with the
        // rest before the manifest names it (an interrupted put's chunk may still be only in memory).
        if (!opts.repair || (await hashFile(final)) === id) {
          placed.push(final);
          continue;
        }
      }
      if (size !== undefined) await rm(final, { force: true });
      const src = join(dir, id);
      if (!existsSync(src)) await this.writeIn(id, await unstagedChunk(dir, id, length, opts.chunkSource), final);
      else if (!(opts.consume && this.moveIn(src, final))) await this.copyIn(id, src, final);
      placed.push(final);
      sent += length;
      faultPoint('chunk');
    }
    await flushFilesystem(this.root, placed);
    const path = this.manifestPath(checksum);
    this.ensureFanout(path);
    const tmp = join(this.root, 'tmp', `manifest-${checksum}.${crypto().randomBytes(6).toString('hex')}`);
    await writeFile(tmp, encodeManifest(manifest), { flag: 'wx', mode: 0o400 });
    await rename(tmp, path);
    this.unflushed.push(path);
    return { sent, chunks: manifest.chunks.length };
  }

  /**
   * An object already here stands for a put only once it is durable: a run killed after writing it and
   * before its flush left it perhaps only in memory. So it is flushed with the batch, like a new one.
   */
  private found(paths: readonly string[], result: PutResult): PutResult {
    this.unflushed.push(...paths);
    return result;
  }

  private foundManifest(checksum: string, manifest: ChunkManifest): PutResult {
    const paths = [this.manifestPath(checksum), ...chunkIds(manifest).map((id) => this.chunkPath(id))];
    return this.found(paths, { sent: 0, chunks: manifest.chunks.length });
  }

  /** Moves a staged file in as an object; false when it lives on another filesystem (then it is copied). */
  private moveIn(sourcePath: string, final: string): boolean {
    try {
      renameSync(sourcePath, final);
    } catch (err) {
      const code = errnoCode(err);
      if (code === 'EXDEV') return false;
      // A rename needs both directories writable: the staging area's refusal is not the vault's.
      if ((code === 'EACCES' || code === 'EPERM' || code === 'EROFS') && !isWritable(dirname(sourcePath))) {
        throw userError(`cannot move staged copies out of the staging area ${dirname(dirname(sourcePath))} (${code})`, 'check the owner and mode of the staging directory and the directories in it');
      }
      throw err;
    }
    this.unflushed.push(final);
    return true;
  }

  private async copyIn(checksum: string, sourcePath: string, final: string): Promise<void> {
    const tmp = join(this.root, 'tmp', `${checksum}.${crypto().randomBytes(6).toString('hex')}`);
    const { sha256 } = await copyHashing(sourcePath, tmp);
    if (sha256 !== checksum) {
      await rm(tmp, { force: true });
      throw new StagedCopyDamaged(`the staged copy ${sourcePath} no longer has checksum ${checksum.slice(0, 12)}`);
    }
    await chmod(tmp, 0o400);
    await rename(tmp, final);
    this.unflushed.push(final);
  }

  /** Verified bytes from elsewhere (another vault) as an object: a temporary file, renamed into place. */
  private async writeIn(id: string, bytes: Buffer, final: string): Promise<void> {
    const tmp = join(this.root, 'tmp', `${id}.${crypto().randomBytes(6).toString('hex')}`);
    await writeFile(tmp, bytes, { flag: 'wx', mode: 0o400 });
    await rename(tmp, final);
  }

  async hasChunk(id: string, length: number): Promise<boolean> {
    return this.chunkSize(id) === length;
  }

  /** Whether every chunk a manifest names is here with its length. */
  private holdsChunksOf(m: ChunkManifest): boolean {
    return distinctChunks(m).every(([id, length]) => this.chunkSize(id) === length);
  }

  /** The size of the chunk object `id`, undefined when there is none: a chunk of the wrong size is damaged. */
  private chunkSize(id: string): number | undefined {
    return statSync(this.chunkPath(id), { throwIfNoEntry: false })?.size;
  }

  localObjectPath(checksum: string): string {
    return this.contentPath(checksum);
  }

  async manifestFor(checksum: string): Promise<ChunkManifest | undefined> {
    this.ensureReady();
    return this.storedManifest(checksum);
  }

  async chunksOf(checksum: string): Promise<readonly (readonly [string, number])[] | undefined> {
    this.ensureReady();
    const m = this.storedManifest(checksum);
    return m && distinctChunks(m);
  }

  /** The manifest stored for a content, or undefined when there is none (or none that decodes: it is rewritten). */
  private storedManifest(checksum: string): ChunkManifest | undefined {
    let bytes: Buffer;
    try {
      bytes = readFileSync(this.manifestPath(checksum));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
    const m = decodeManifest(bytes, checksum);
    return m.ok ? m.value : undefined;
  }

  /** The stored manifest of a content without a whole object: absent is 'missing', undecodable 'corrupt'. */
  private async manifestOf(checksum: string): Promise<ChunkManifest> {
    let bytes: Buffer;
    try {
      bytes = await readFile(this.manifestPath(checksum));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new VaultObjectError('missing', this.name, `content/${checksum}`);
      throw err;
    }
    return parseStoredManifest(this.name, checksum, bytes);
  }

  readChunk = async (id: string): Promise<Buffer | undefined> => {
    try {
      return await readFile(this.chunkPath(id));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    }
  };

  /** Removes the whole object or the manifest; chunks may belong to other contents too and stay. */
  async removeContent(checksum: string): Promise<void> {
    this.ensureReady();
    await rm(this.contentPath(checksum), { force: true });
    await rm(this.manifestPath(checksum), { force: true });
  }

  /** What the next `flush` makes durable: every object a put wrote or stood on since the last one. */
  pendingFlush(): readonly string[] {
    return [...this.unflushed];
  }

  async flush(): Promise<void> {
    const files = this.unflushed;
    this.unflushed = [];
    await flushFilesystem(this.root, files);
  }

  async getContent(checksum: string, outputPath: string): Promise<void> {
    this.ensureReady();
    const src = this.contentPath(checksum);
    const tmp = restoreTmpPath(outputPath);
    let size: number;
    try {
      size = statSync(src).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return this.getChunked(checksum, outputPath);
      throw err;
    }
    if (size <= SMALL_OBJECT) {
      // Small objects in one read and one write: per-file overhead decides restore speed of many files.
      const data = readFileSync(src);
      if (crypto().createHash('sha256').update(data).digest('hex') !== checksum) throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
      try {
        writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 });
        renameSync(tmp, outputPath);
      } catch (err) {
        removeOwnTemporary(tmp, err);
        throw err;
      }
      return;
    }
    let sha256: string;
    try {
      ({ sha256 } = await copyHashing(src, tmp));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && !existsSync(src)) {
        throw new VaultObjectError('missing', this.name, `content/${checksum}`);
      }
      throw err;
    }
    if (sha256 !== checksum) {
      await rm(tmp, { force: true });
      throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
    }
    await rename(tmp, outputPath);
  }

  /** Chunk by chunk into a temporary file beside the output, every chunk and the whole verified, then renamed. */
  private async getChunked(checksum: string, outputPath: string): Promise<void> {
    await writeChunkedContent(this.name, await this.manifestOf(checksum), this.readChunk, READ_AHEAD, outputPath);
  }

  async verifyContent(checksum: string, readData: boolean, size?: number): Promise<void> {
    this.ensureReady();
    const whole = this.contentPath(checksum);
    const found = statIfThere(whole);
    if (found) {
      if (size !== undefined && found.size !== size) throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
      if (readData) {
        const actual = await hashFile(whole);
        if (actual === undefined) throw new VaultObjectError('missing', this.name, `content/${checksum}`);
        if (actual !== checksum) throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
      }
      return;
    }
    const m = await this.manifestOf(checksum);
    if (readData) return readChunks(this.name, m, this.readChunk, null, READ_AHEAD);
    for (const [id, length] of distinctChunks(m)) {
      const size = this.chunkSize(id);
      if (size === undefined) throw new VaultObjectError('missing', this.name, `chunks/${id}`);
      if (size !== length) throw new VaultObjectError('corrupt', this.name, `chunks/${id}`);
    }
  }

  putMetadata(key: string, data: Buffer): Promise<void> {
    return this.metadata.put(key, data);
  }

  replaceMetadata(key: string, data: Buffer): Promise<void> {
    return this.metadata.replace(key, data);
  }

  getMetadata(key: string): Promise<Buffer> {
    return this.metadata.get(key);
  }

  listMetadata(prefix: string): Promise<string[]> {
    return this.metadata.list(prefix);
  }

  async validateSetup(): Promise<SetupReport> {
    const steps: string[] = [];
    const existed = await stat(join(this.root, MARKER)).then(() => true, () => false);
    for (const dir of ['', 'content', 'manifests', 'chunks', 'metadata', 'tmp']) makeDirs(join(this.root, dir), 0o700);
    if (!existed) {
      const id = crypto().randomBytes(16).toString('hex');
      await writeFileAtomic(join(this.root, MARKER), Buffer.from(`${JSON.stringify({ format: 1, kind: 'bt-vault', id })}\n`), 0o600);
      steps.push(`created the vault layout at ${this.root}`);
    } else {
      steps.push(`found the vault at ${this.root}`);
    }
    this.ready = true;
    const probe = join(this.root, 'tmp', `probe-${crypto().randomBytes(8).toString('hex')}`);
    const bytes = crypto().randomBytes(4096);
    await writeFile(probe, bytes);
    const back = await readFile(probe);
    await rm(probe);
    if (!back.equals(bytes)) throw vaultError(`vault "${this.name}": a probe at ${this.root} read back different bytes`);
    steps.push('write, read-back and delete of a probe object: ok');
    const id = markerId(readFileSync(join(this.root, MARKER)));
    this.seenId = id;
    return { steps, id };
  }

  close(): void {}
}


/** SHA-256 of a file's bytes; undefined when there is no such file. */
async function hashFile(path: string): Promise<string | undefined> {
  const hash = crypto().createHash('sha256');
  try {
    // Small objects in one read: `bt check --read-data` of many small files is decided by per-file cost.
    if (statSync(path).size <= SMALL_OBJECT) return hash.update(readFileSync(path)).digest('hex');
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  } catch (err) {
    if (errnoCode(err) === 'ENOENT') return undefined;
    throw err;
  }
  return hash.digest('hex');
}

/**
 * A restore's temporary that could not be written in full (no space, I/O error) must not stay beside the
 * output. EEXIST means the name was someone else's file: that one is left alone.
 */
function removeOwnTemporary(tmp: string, err: unknown): void {
  if (errnoCode(err) !== 'EEXIST') rmSync(tmp, { force: true });
}

function isWritable(dir: string): boolean {
  try {
    accessSync(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** What is at `path`, or undefined when nothing is (a file where one of its directories goes included, as existsSync). */
function statIfThere(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw err;
  }
}

const Marker = t.partial({ id: t.string });

/** A marker's id; 'none' for one written before vaults had ids (or unreadable as JSON: still this host's vault). */
function markerId(marker: Buffer): string {
  try {
    const decoded = decodeWith(Marker, JSON.parse(marker.toString('utf8')));
    return decoded.ok && decoded.value.id !== undefined ? decoded.value.id : 'none';
  } catch {
    return 'none';
  }
}
