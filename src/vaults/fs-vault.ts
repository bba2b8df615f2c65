// A vault in a local directory (a second disk, a NAS mount). Layout: docs/adr/0007-vault-layout.md.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { chmod, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { errnoCode, vaultError } from '../core/errors.js';
import { writeFileAtomic } from '../fs/atomic.js';
import { flushFilesystem } from '../fs/durable.js';
import { copyHashing } from '../fs/hash-copy.js';
import { type PutOptions, type PutResult, type SetupReport, type Vault, VaultObjectError, checkMetadataKey, isSha256 } from './vault.js';

const MARKER = 'bt-vault.json';
const SMALL_OBJECT = 4 << 20;

export class FileSystemVault implements Vault {
  readonly kind = 'fs' as const;
  private ready = false;
  private unflushed: string[] = [];
  private readonly fanouts = new Set<string>();

  constructor(
    readonly name: string,
    readonly root: string,
  ) {}

  contentPath(checksum: string): string {
    if (!isSha256(checksum)) throw new Error(`not a SHA-256: ${checksum}`);
    return join(this.root, 'content', checksum.slice(0, 2), checksum);
  }

  private metadataPath(key: string): string {
    checkMetadataKey(key);
    return join(this.root, 'metadata', key);
  }

  /** A vault that was never set up (or whose disk is not mounted) is an error, not a place to create files. */
  private ensureReady(): void {
    if (this.ready) return;
    try {
      readFileSync(join(this.root, MARKER));
    } catch {
      throw vaultError(
        `vault "${this.name}": ${this.root} is not set up (no ${MARKER})`,
        'mount the disk it lives on, or run `bt config vault init`',
      );
    }
    this.ready = true;
  }

  // Metadata syscalls on a local disk take microseconds; doing them synchronously avoids a thread-pool
  // round trip per call, which dominated a backup of many small files.
  async hasContent(checksum: string): Promise<boolean> {
    this.ensureReady();
    return existsSync(this.contentPath(checksum));
  }

  async putContent(checksum: string, sourcePath: string, size: number, opts: PutOptions = {}): Promise<PutResult> {
    this.ensureReady();
    const final = this.contentPath(checksum);
    const fanout = dirname(final);
    if (!this.fanouts.has(fanout)) {
      mkdirSync(fanout, { recursive: true });
      this.fanouts.add(fanout);
    }
    if (existsSync(final)) return { sent: 0 };
    if (opts.consume) {
      // The staged copy (read-only, never changed) becomes the object: one rename, no second copy of
      // the bytes and no unlink after the commit. Never a hard link: two vaults must not share an inode.
      try {
        renameSync(sourcePath, final);
        this.unflushed.push(final);
        return { sent: size, consumed: true };
      } catch (err) {
        if (errnoCode(err) !== 'EXDEV') throw err;
      }
    }
    await this.copyIn(checksum, sourcePath, final);
    this.unflushed.push(final);
    return { sent: size };
  }

  private async copyIn(checksum: string, sourcePath: string, final: string): Promise<void> {
    const tmp = join(this.root, 'tmp', `${checksum}.${randomBytes(6).toString('hex')}`);
    const { sha256 } = await copyHashing(sourcePath, tmp);
    if (sha256 !== checksum) {
      await rm(tmp, { force: true });
      throw new Error(`staged copy ${sourcePath} no longer has checksum ${checksum}`);
    }
    await chmod(tmp, 0o400);
    this.unflushed.push(tmp);
    await rename(tmp, final);
  }

  async removeContent(checksum: string): Promise<void> {
    this.ensureReady();
    await rm(this.contentPath(checksum), { force: true });
  }

  async flush(): Promise<void> {
    const files = this.unflushed;
    this.unflushed = [];
    await flushFilesystem(this.root, files);
  }

  async getContent(checksum: string, outputPath: string): Promise<void> {
    this.ensureReady();
    const src = this.contentPath(checksum);
    const tmp = join(dirname(outputPath), `.bt-restore-${randomBytes(6).toString('hex')}`);
    let size: number;
    try {
      size = statSync(src).size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new VaultObjectError('missing', this.name, `content/${checksum}`);
      throw err;
    }
    if (size <= SMALL_OBJECT) {
      // Small objects in one read and one write: per-file overhead decides restore speed of many files.
      const data = readFileSync(src);
      if (createHash('sha256').update(data).digest('hex') !== checksum) throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
      writeFileSync(tmp, data, { flag: 'wx', mode: 0o600 });
      renameSync(tmp, outputPath);
      return;
    }
    let sha256: string;
    try {
      ({ sha256 } = await copyHashing(src, tmp));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT' && !(await this.hasContent(checksum))) {
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

  async putMetadata(key: string, data: Buffer): Promise<void> {
    this.ensureReady();
    const path = this.metadataPath(key);
    const existing = await readFile(path).catch((err: unknown) => {
      if (errnoCode(err) === 'ENOENT') return undefined;
      throw err;
    });
    if (existing) {
      if (existing.equals(data)) return;
      throw vaultError(`vault "${this.name}": metadata ${key} exists with other bytes; refusing to overwrite it`);
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFileAtomic(path, data, 0o400);
  }

  async getMetadata(key: string): Promise<Buffer> {
    this.ensureReady();
    try {
      return await readFile(this.metadataPath(key));
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') throw new VaultObjectError('missing', this.name, `metadata/${key}`);
      throw err;
    }
  }

  async listMetadata(prefix: string): Promise<string[]> {
    this.ensureReady();
    const base = join(this.root, 'metadata');
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

  async validateSetup(): Promise<SetupReport> {
    const steps: string[] = [];
    const existed = await stat(join(this.root, MARKER)).then(() => true, () => false);
    for (const dir of ['', 'content', 'metadata', 'tmp']) await mkdir(join(this.root, dir), { recursive: true, mode: 0o700 });
    if (!existed) {
      await writeFileAtomic(join(this.root, MARKER), Buffer.from(`${JSON.stringify({ format: 1, kind: 'bt-vault' })}\n`), 0o600);
      steps.push(`created the vault layout at ${this.root}`);
    } else {
      steps.push(`found the vault at ${this.root}`);
    }
    this.ready = true;
    const probe = join(this.root, 'tmp', `probe-${randomBytes(8).toString('hex')}`);
    const bytes = randomBytes(4096);
    await writeFile(probe, bytes);
    const back = await readFile(probe);
    await rm(probe);
    if (!back.equals(bytes)) throw vaultError(`vault "${this.name}": a probe at ${this.root} read back different bytes`);
    steps.push('write, read-back and delete of a probe object: ok');
    return { steps };
  }

  close(): void {}
}

