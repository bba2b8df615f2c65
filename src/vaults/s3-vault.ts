// A vault in an S3 bucket (AWS or S3-compatible). Layout: docs/adr/0007-vault-layout.md and, for chunked
// content, 0012-content-defined-chunking.md; client: ADR 0009.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { type FileHandle, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  type BucketLocationConstraint,
  CreateBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import * as t from 'io-ts';
import pLimit from 'p-limit';
import type { S3VaultConfig } from '../config/schema.js';
import { decodeWith } from '../core/decode.js';
import { type BtError, errnoCode, vaultError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { type ChunkManifest, decodeManifest, distinctChunks, encodeManifest, sha256Hex } from '../fs/chunk-manifest.js';
import { CHUNK_THRESHOLD } from '../fs/chunker.js';
import { parseStoredManifest, readChunks, readStagedChunk, readStagedManifest } from './chunked-content.js';
import { makeS3Client } from './s3-client.js';
import { type S3Where, errorCode, httpStatus, isNotFound, isUnsupportedChecksumHeader, knownSecrets, s3Failure } from './s3-errors.js';
import { ContentMismatch, collect, verifyingStream } from './s3-transfer.js';
import { type PutOptions, type PutResult, type SetupReport, type Vault, VaultObjectError, checkMetadataKey, isSha256 } from './vault.js';

const MiB = 1024 * 1024;
/** Multipart part size: S3's minimum is 5 MiB; 8 MiB keeps memory small and parts few. */
export const PART_SIZE = 8 * MiB;
/** Larger files go multipart (streamed in parts); smaller ones are one PUT from memory. */
export const MULTIPART_THRESHOLD = PART_SIZE;
/** Parts of one multipart upload in flight, unless the vault's `concurrency` says otherwise. */
export const DEFAULT_PARTS_IN_FLIGHT = 4;
const MAX_PARTS = 10_000;
const LOCAL_FS_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EEXIST', 'EROFS', 'EISDIR', 'ENOTDIR', 'EMFILE', 'ENFILE', 'EIO']);

/** The parts of a ListObjectsV2 answer bt relies on. */
const ListPage = t.partial({
  Contents: t.array(t.partial({ Key: t.string })),
  IsTruncated: t.boolean,
  NextContinuationToken: t.string,
});

export interface S3VaultOptions {
  /** Uploads bt runs at once (backup.concurrency): the HTTP pool is sized so none waits for a socket. */
  readonly parallelism?: number;
}

export class S3Vault implements Vault {
  readonly kind = 's3' as const;
  readonly name: string;
  private readonly client: S3Client;
  private readonly partsInFlight: number;
  private readonly secrets: readonly string[];
  /** Cleared when the server rejects x-amz-checksum-sha256 (Backblaze B2, Cloudflare R2): Content-MD5 remains. */
  private sendSha256 = true;
  /** Content a HEAD just found absent: putContent right after hasContent need not ask again. */
  private readonly knownAbsent = new Set<string>();
  /** Chunks this run stored or saw: a chunk shared by several files is asked about once. */
  private readonly presentChunks = new Set<string>();
  /** Every chunk key, listed once for `bt check` (a LIST names 1,000 keys for the price of one request). */
  private chunkListing: Promise<Set<string>> | undefined;

  constructor(
    private readonly config: S3VaultConfig,
    opts: S3VaultOptions = {},
  ) {
    this.name = config.name;
    this.partsInFlight = Math.max(1, config.concurrency || DEFAULT_PARTS_IN_FLIGHT);
    const parallelism = Math.max(1, opts.parallelism ?? 4);
    // Each upload: its parts in flight plus a HEAD; plus journal and probe requests.
    this.client = makeS3Client(config, { maxSockets: parallelism * (this.partsInFlight + 1) + 4 });
    this.secrets = knownSecrets([config.access_key_id, config.secret_access_key]);
  }

  private contentKey(checksum: string): string {
    if (!isSha256(checksum)) throw new Error(`not a SHA-256: ${checksum}`);
    return `${this.config.content_bucket_prefix}content/${checksum}`;
  }

  private manifestKey(checksum: string): string {
    if (!isSha256(checksum)) throw new Error(`not a SHA-256: ${checksum}`);
    return `${this.config.content_bucket_prefix}manifests/${checksum}`;
  }

  private chunkKey(id: string): string {
    if (!isSha256(id)) throw new Error(`not a SHA-256: ${id}`);
    return `${this.config.content_bucket_prefix}chunks/${id}`;
  }

  private metadataKey(key: string): string {
    checkMetadataKey(key);
    return `${this.config.metadata_bucket_prefix}${key}`;
  }

  private get endpoint(): string {
    return this.config.endpoint ?? `AWS S3${this.config.region ? ` (${this.config.region})` : ''}`;
  }

  private fail(err: unknown, bucket?: string, key?: string): BtError {
    const where: S3Where = { vault: this.name, endpoint: this.endpoint, bucket, key, region: this.config.region, secrets: this.secrets };
    return s3Failure(err, where);
  }

  async hasContent(checksum: string): Promise<boolean> {
    const bucket = this.config.content_bucket;
    const found = (await this.exists(bucket, this.contentKey(checksum))) || (await this.exists(bucket, this.manifestKey(checksum)));
    if (!found) this.knownAbsent.add(checksum);
    return found;
  }

  private async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw this.fail(err, bucket, key);
    }
  }

  /**
   * A staged file is stored whole, a staged chunk directory chunked. The staged file's own size decides
   * single PUT or multipart and is what is verified with the SHA-256; the declared size is not trusted
   * (bt check --repair passes 0), the checksum is.
   */
  async putContent(checksum: string, sourcePath: string, _declaredSize: number, opts: PutOptions = {}): Promise<PutResult> {
    const key = this.contentKey(checksum);
    const bucket = this.config.content_bucket;
    const justChecked = this.knownAbsent.delete(checksum);
    let source;
    try {
      source = await stat(sourcePath);
    } catch (err) {
      // A vanished staged copy is no problem when the vault has the content; otherwise it fails as ENOENT.
      if (errnoCode(err) === 'ENOENT' && !justChecked && !opts.repair && (await this.exists(bucket, key))) return { sent: 0 };
      throw err;
    }
    if (source.isDirectory()) return this.putChunked(checksum, sourcePath, justChecked, opts);
    if (!justChecked) {
      if (await this.exists(bucket, key)) {
        if (!opts.repair || (await this.hashObject(bucket, key)) === checksum) return { sent: 0 };
      } else if (source.size >= CHUNK_THRESHOLD && !opts.repair) {
        // Another host may have stored this content chunked.
        const stored = await this.storedManifest(checksum);
        if (stored) return { sent: 0, chunks: stored.chunks.length };
      }
    }
    const size = source.size;
    if (size <= MULTIPART_THRESHOLD) {
      const body = await readFile(sourcePath);
      const sha256 = createHash('sha256').update(body).digest('hex');
      if (sha256 !== checksum) throw stagedCopyChanged(sourcePath, checksum);
      await this.putBytes(bucket, key, body, sha256, this.storageClass());
    } else {
      await this.putLarge(bucket, key, checksum, sourcePath, size);
    }
    return { sent: size };
  }

  /**
   * A staged chunk directory: each chunk the bucket lacks (a HEAD per chunk not seen this run) is one PUT
   * that carries its SHA-256, a few in flight; the manifest goes last, once every chunk is stored.
   */
  private async putChunked(checksum: string, dir: string, justChecked: boolean, opts: PutOptions): Promise<PutResult> {
    const bucket = this.config.content_bucket;
    const { manifest } = await readStagedManifest(dir, checksum);
    if (!justChecked && !opts.repair) {
      // A GET costs what a HEAD costs, and tells how many chunks the stored manifest has.
      const stored = await this.storedManifest(checksum);
      if (stored) return { sent: 0, chunks: stored.chunks.length };
      if (await this.exists(bucket, this.contentKey(checksum))) return { sent: 0 };
    }
    const limit = pLimit(this.partsInFlight);
    let sent = 0;
    let failed = false;
    const results = await Promise.allSettled(
      distinctChunks(manifest).map(([id, length]) =>
        limit(async () => {
          if (failed || (this.presentChunks.has(id) && !opts.repair)) return;
          try {
            const key = this.chunkKey(id);
            if ((await this.exists(bucket, key)) && (!opts.repair || (await this.hashObject(bucket, key)) === id)) {
              this.presentChunks.add(id);
              return;
            }
            const body = await readStagedChunk(dir, id, length);
            await this.putBytes(bucket, key, body, id, this.storageClass());
            this.presentChunks.add(id);
            sent += length;
            faultPoint('chunk');
          } catch (err) {
            failed = true; // the chunks still queued are not started
            throw err;
          }
        }),
      ),
    );
    const failure = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failure) throw failure.reason;
    // Small and read by every restore and check: the bucket's default storage class, not the content's.
    const bytes = encodeManifest(manifest);
    await this.putBytes(bucket, this.manifestKey(checksum), bytes, sha256Hex(bytes));
    return { sent, chunks: manifest.chunks.length };
  }

  /** The manifest stored for a content, or undefined when there is none (or none that decodes: it is rewritten). */
  private async storedManifest(checksum: string): Promise<ChunkManifest | undefined> {
    const bytes = await this.read(this.config.content_bucket, this.manifestKey(checksum));
    if (!bytes) return undefined;
    const m = decodeManifest(bytes, checksum);
    return m.ok ? m.value : undefined;
  }

  /** The stored manifest of a content without a whole object: absent is 'missing', undecodable 'corrupt'. */
  private async manifestOf(checksum: string): Promise<ChunkManifest> {
    const bytes = await this.read(this.config.content_bucket, this.manifestKey(checksum));
    if (!bytes) throw new VaultObjectError('missing', this.name, `content/${checksum}`);
    return parseStoredManifest(this.name, checksum, bytes);
  }

  private readChunk = (id: string): Promise<Buffer | undefined> => this.read(this.config.content_bucket, this.chunkKey(id));

  /** SHA-256 of an object's bytes, streamed; undefined when there is no such object. */
  private async hashObject(bucket: string, key: string): Promise<string | undefined> {
    const hash = createHash('sha256');
    try {
      const body = (await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
      if (!(body instanceof Readable)) throw vaultError(`vault "${this.name}": s3://${bucket}/${key}: the server sent no readable body`);
      for await (const chunk of body) hash.update(chunk as Buffer);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(err, bucket, key);
    }
    return hash.digest('hex');
  }

  /** Deletes a content's object or manifest (bt check --repair replaces a corrupt one this way); chunks stay. */
  async removeContent(checksum: string): Promise<void> {
    const bucket = this.config.content_bucket;
    for (const key of [this.contentKey(checksum), this.manifestKey(checksum)]) {
      try {
        await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      } catch (err) {
        throw this.fail(err, bucket, key);
      }
    }
  }

  async verifyContent(checksum: string, readData: boolean): Promise<void> {
    const bucket = this.config.content_bucket;
    const key = this.contentKey(checksum);
    if (readData) {
      const actual = await this.hashObject(bucket, key);
      if (actual !== undefined) {
        if (actual !== checksum) throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
        return;
      }
    } else if (await this.exists(bucket, key)) {
      return;
    }
    const m = await this.manifestOf(checksum);
    if (readData) return readChunks(this.name, m, this.readChunk, null, this.partsInFlight);
    this.chunkListing ??= this.listKeys(bucket, `${this.config.content_bucket_prefix}chunks/`).then((keys) => new Set(keys));
    const listed = await this.chunkListing;
    for (const [id] of distinctChunks(m)) {
      if (!listed.has(id)) throw new VaultObjectError('missing', this.name, `chunks/${id}`);
    }
  }

  private storageClass(): StorageClass | undefined {
    // Vendor classes beyond the SDK's list are passed through as written; the server judges them.
    return this.config.storage_class as StorageClass | undefined;
  }

  /**
   * One PUT of bytes in memory, with Content-MD5 (added by the client) and, where the server accepts it,
   * x-amz-checksum-sha256: the server then refuses bytes that are not the ones bt hashed.
   */
  private async putBytes(bucket: string, key: string, body: Buffer, sha256Hex: string, storageClass?: StorageClass): Promise<void> {
    const input: PutObjectCommandInput = { Bucket: bucket, Key: key, Body: body, ContentLength: body.length, StorageClass: storageClass };
    if (this.sendSha256) {
      try {
        await this.client.send(new PutObjectCommand({ ...input, ChecksumSHA256: Buffer.from(sha256Hex, 'hex').toString('base64') }));
        return;
      } catch (err) {
        if (!isUnsupportedChecksumHeader(err)) throw this.fail(err, bucket, key);
        this.sendSha256 = false;
      }
    }
    try {
      await this.client.send(new PutObjectCommand(input));
    } catch (err) {
      throw this.fail(err, bucket, key);
    }
  }

  /**
   * Multipart upload streamed from the staged file: parts of PART_SIZE, a few in flight, each with Content-MD5.
   * The whole file's SHA-256 is checked as it is read, before the last part: a mismatch aborts the upload.
   */
  private async putLarge(bucket: string, key: string, checksum: string, sourcePath: string, size: number): Promise<void> {
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
    // Opened first: a staged copy that is gone fails here, as the file error it is (backup reports it so).
    const handle = await open(sourcePath, 'r');
    const verified = verifyingStream(checksum, size);
    const source = handle.createReadStream({ highWaterMark: MiB });
    // A read error reaches the upload through `verified`; the promise itself is awaited only for cleanup.
    const piping = pipeline(source, verified).catch(() => undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: bucket, Key: key, Body: verified, ContentLength: size, StorageClass: this.storageClass() },
      partSize,
      queueSize: this.partsInFlight,
      leavePartsOnError: false,
    });
    try {
      await upload.done();
    } catch (err) {
      // lib-storage rethrows a failed abort in place of the cause: ask the stream why it stopped.
      if (err instanceof ContentMismatch || verified.errored instanceof ContentMismatch) throw stagedCopyChanged(sourcePath, checksum);
      throw this.fail(err, bucket, key);
    } finally {
      verified.destroy();
      await piping;
    }
    // Cheap end-to-end check that the server assembled every part.
    let stored: number | undefined;
    try {
      stored = (await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength;
    } catch (err) {
      throw this.fail(err, bucket, key);
    }
    if (stored !== size) {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => undefined);
      throw vaultError(`vault "${this.name}": s3://${bucket}/${key} was stored with ${stored ?? '?'} bytes instead of ${size}; removed it`);
    }
  }

  /** Nothing to do: S3 has the object durably once its PUT (or CompleteMultipartUpload) returned 200. */
  async flush(): Promise<void> {}

  async getContent(checksum: string, outputPath: string): Promise<void> {
    const key = this.contentKey(checksum);
    const bucket = this.config.content_bucket;
    let body: unknown;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
    } catch (err) {
      if (isNotFound(err)) return this.getChunked(checksum, outputPath);
      throw this.fail(err, bucket, key);
    }
    if (!(body instanceof Readable)) throw vaultError(`vault "${this.name}": s3://${bucket}/${key}: the server sent no readable body`);
    const tmp = join(dirname(outputPath), `.bt-restore-${randomBytes(6).toString('hex')}`);
    const hash = createHash('sha256');
    try {
      await pipeline(
        body,
        async function* (chunks: AsyncIterable<Buffer>) {
          for await (const chunk of chunks) {
            hash.update(chunk);
            yield chunk;
          }
        },
        createWriteStream(tmp, { flags: 'wx', mode: 0o600 }),
      );
    } catch (err) {
      await rm(tmp, { force: true });
      // A local write failure (no space, no permission) is not the server's: let it surface as itself.
      if (LOCAL_FS_ERRORS.has(errnoCode(err) ?? '')) throw err;
      throw this.fail(err, bucket, key);
    }
    if (hash.digest('hex') !== checksum) {
      await rm(tmp, { force: true });
      throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
    }
    await rename(tmp, outputPath);
  }

  /** Chunk by chunk (a few fetched ahead) into a temporary file beside the output, all verified, then renamed. */
  private async getChunked(checksum: string, outputPath: string): Promise<void> {
    const m = await this.manifestOf(checksum);
    const tmp = join(dirname(outputPath), `.bt-restore-${randomBytes(6).toString('hex')}`);
    const handle = await open(tmp, 'wx', 0o600);
    try {
      await readChunks(this.name, m, this.readChunk, (bytes) => writeAll(handle, bytes), this.partsInFlight);
      await handle.close();
    } catch (err) {
      await handle.close().catch(() => {});
      await rm(tmp, { force: true });
      throw err;
    }
    await rename(tmp, outputPath);
  }

  async putMetadata(key: string, data: Buffer): Promise<void> {
    const full = this.metadataKey(key);
    const bucket = this.config.metadata_bucket;
    // Keys are immutable. S3-compatible servers differ on conditional PUTs (s3rver ignores If-None-Match), so
    // read first; one host writes its own keys under its host lock, so there is no one to race with.
    const existing = await this.read(bucket, full);
    if (existing) {
      if (existing.equals(data)) return;
      throw vaultError(`vault "${this.name}": metadata ${key} exists with other bytes; refusing to overwrite it`);
    }
    await this.putBytes(bucket, full, data, createHash('sha256').update(data).digest('hex'));
  }

  async getMetadata(key: string): Promise<Buffer> {
    const data = await this.read(this.config.metadata_bucket, this.metadataKey(key));
    if (!data) throw new VaultObjectError('missing', this.name, `metadata/${key}`);
    return data;
  }

  /** The object's bytes, or undefined when there is no such object. */
  private async read(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await collect(res.Body, `vault "${this.name}": s3://${bucket}/${key}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(err, bucket, key);
    }
  }

  async listMetadata(prefix: string): Promise<string[]> {
    const base = this.config.metadata_bucket_prefix;
    return (await this.listKeys(this.config.metadata_bucket, base + prefix)).map((k) => prefix + k).sort();
  }

  /** Every key under a prefix (the prefix itself stripped), page by page. */
  private async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      let raw: unknown;
      try {
        raw = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      } catch (err) {
        throw this.fail(err, bucket, prefix);
      }
      const page = decodeWith(ListPage, raw);
      if (!page.ok) throw vaultError(`vault "${this.name}": unexpected listing of s3://${bucket}/${prefix}: ${page.reason}`);
      for (const o of page.value.Contents ?? []) if (o.Key?.startsWith(prefix)) keys.push(o.Key.slice(prefix.length));
      token = page.value.IsTruncated ? page.value.NextContinuationToken : undefined;
      if (page.value.IsTruncated && !token) throw vaultError(`vault "${this.name}": listing of s3://${bucket}/${prefix} is truncated without a continuation token`);
    } while (token);
    return keys;
  }

  async validateSetup(): Promise<SetupReport> {
    const steps: string[] = [];
    const { content_bucket: cb, content_bucket_prefix: cp, metadata_bucket: mb, metadata_bucket_prefix: mp } = this.config;
    for (const bucket of new Set([cb, mb])) steps.push(await this.ensureBucket(bucket));
    const places: readonly (readonly [string, string])[] = cb === mb && cp === mp ? [[cb, cp]] : [[cb, cp], [mb, mp]];
    for (const [bucket, prefix] of places) {
      await this.probe(bucket, prefix);
      steps.push(`s3://${bucket}/${prefix}: write, read-back and delete of a probe object: ok`);
    }
    return { steps };
  }

  /** Finds the bucket or creates it; a HEAD refused (least-privilege policies) leaves the verdict to the probe. */
  private async ensureBucket(bucket: string): Promise<string> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
      return `bucket "${bucket}" at ${this.endpoint}: found`;
    } catch (err) {
      if (errorCode(err) !== 'NoSuchBucket' && !isNotFound(err)) {
        if (httpStatus(err) === 403) {
          return `bucket "${bucket}": may not check it (access denied to HeadBucket); the probe will tell`;
        }
        throw this.fail(err, bucket);
      }
    }
    try {
      const region = await this.client.config.region();
      await this.client.send(
        new CreateBucketCommand({
          Bucket: bucket,
          // us-east-1 is the one region that must not be named here; other names pass through as configured.
          CreateBucketConfiguration: region && region !== 'us-east-1' ? { LocationConstraint: region as BucketLocationConstraint } : undefined,
        }),
      );
    } catch (err) {
      const code = errorCode(err);
      if (code === 'BucketAlreadyOwnedByYou') return `bucket "${bucket}" at ${this.endpoint}: found`;
      if (code === 'BucketAlreadyExists') throw vaultError(`vault "${this.name}": bucket name "${bucket}" is taken by another account`, 'choose another bucket name');
      if (code === 'AccessDenied') {
        throw vaultError(`vault "${this.name}": bucket "${bucket}" does not exist and these credentials may not create it (AccessDenied)`, 'create it yourself, or allow s3:CreateBucket');
      }
      throw this.fail(err, bucket);
    }
    return `created bucket "${bucket}" at ${this.endpoint}`;
  }

  private async probe(bucket: string, prefix: string): Promise<void> {
    const key = `${prefix}bt-probe-${randomBytes(8).toString('hex')}`;
    const bytes = randomBytes(4096);
    await this.putBytes(bucket, key, bytes, createHash('sha256').update(bytes).digest('hex'));
    const back = await this.read(bucket, key);
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      throw this.fail(err, bucket, key);
    }
    if (!back) throw vaultError(`vault "${this.name}": a probe written to s3://${bucket}/${key} could not be read back`);
    if (!back.equals(bytes)) throw vaultError(`vault "${this.name}": a probe at s3://${bucket}/${key} read back different bytes`, 'the server corrupts objects; see ADR 0009 for the client settings S3-compatible servers need');
    if (await this.exists(bucket, key)) throw vaultError(`vault "${this.name}": a probe at s3://${bucket}/${key} is still there after being deleted`);
  }

  close(): void {
    this.client.destroy();
  }
}

const stagedCopyChanged = (path: string, checksum: string): BtError =>
  vaultError(`the staged copy ${path} no longer has checksum ${checksum.slice(0, 12)}`, 'run `bt add` on the file again');

async function writeAll(handle: FileHandle, bytes: Buffer): Promise<void> {
  for (let off = 0; off < bytes.length; ) off += (await handle.write(bytes, off, bytes.length - off)).bytesWritten;
}
