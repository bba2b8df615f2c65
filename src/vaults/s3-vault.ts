// A vault in an S3 bucket (AWS or S3-compatible): what is stored under which key (layout: ADR 0007, and for
// chunked content ADR 0012), on top of the object operations of s3-objects.ts; client: ADR 0009.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { restoreTmpPath } from '../fs/restore-file.js';
import { type BucketLocationConstraint, CreateBucketCommand, HeadBucketCommand, type S3Client, type StorageClass } from '@aws-sdk/client-s3';
import pLimit from 'p-limit';
import type { S3VaultConfig } from '../config/schema.js';
import { errnoCode, vaultError } from '../core/errors.js';
import { faultPoint } from '../core/fault.js';
import { type ChunkManifest, decodeManifest, distinctChunks, encodeManifest, sha256Hex } from '../fs/chunk-manifest.js';
import { CHUNK_THRESHOLD } from '../fs/chunker.js';
import { parseStoredManifest, readChunks, readStagedChunk, readStagedManifest, writeChunkedContent } from './chunked-content.js';
import { makeS3Client } from './s3-client.js';
import { FirstContact, PROBE_TIMEOUT_MS } from './s3-first-contact.js';
import { errorCode, httpStatus, isNotFound, knownSecrets } from './s3-errors.js';
import { MULTIPART_THRESHOLD, S3Objects, stagedCopyChanged } from './s3-objects.js';
import { type PutOptions, type PutResult, type SetupReport, type Vault, VaultObjectError, checkMetadataKey, isSha256 } from './vault.js';

/** Parts of one multipart upload (or chunks of one content) in flight, unless the vault's `concurrency` says otherwise. */
export const DEFAULT_PARTS_IN_FLIGHT = 4;

export interface S3VaultOptions {
  /** Uploads bt runs at once (backup.concurrency): the HTTP pool is sized so none waits for a socket. */
  readonly parallelism?: number;
}

export class S3Vault implements Vault {
  readonly kind = 's3' as const;
  readonly name: string;
  private readonly client: S3Client;
  private readonly objects: S3Objects;
  private readonly partsInFlight: number;
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
    const secrets = knownSecrets([config.access_key_id, config.secret_access_key]);
    this.objects = new S3Objects(this.client, { vault: this.name, endpoint: this.endpoint, region: config.region, secrets, profile: config.profile }, this.partsInFlight);
    this.gateOnFirstContact();
  }

  /** Every request waits until the endpoint has answered once (s3-first-contact.ts); the probe itself does not. */
  private gateOnFirstContact(): void {
    const probes = new WeakSet<object>();
    const contact = new FirstContact({
      probe: (abortSignal) => {
        const input = { Bucket: this.config.content_bucket };
        probes.add(input);
        return this.client.send(new HeadBucketCommand(input), { abortSignal });
      },
      describe: (err, timedOut) =>
        timedOut
          ? vaultError(`vault "${this.name}": ${this.endpoint} does not answer (no answer within ${PROBE_TIMEOUT_MS / 1000} s)`, 'check that the server is running and not stuck, and the network between')
          : this.objects.fail(err, this.config.content_bucket),
    });
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        // Not the probe, nor what the SDK sends on its way (a directory bucket's CreateSession): those
        // waiting on the gate would wait on themselves.
        if (!probes.has(args.input as object) && context.commandName !== 'CreateSessionCommand') await contact.ready();
        return next(args);
      },
      { step: 'initialize', name: 'btFirstContact', tags: ['BT'] },
    );
  }

  forgetCaches(): void {
    this.knownAbsent.clear();
    this.presentChunks.clear();
    this.chunkListing = undefined;
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

  async hasContent(checksum: string, size?: number): Promise<boolean> {
    const bucket = this.config.content_bucket;
    const whole = await this.objects.size(bucket, this.contentKey(checksum));
    const found = whole !== undefined ? size === undefined || whole === size : await this.objects.exists(bucket, this.manifestKey(checksum));
    if (!found) this.knownAbsent.add(checksum);
    return found;
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
      if (errnoCode(err) !== 'ENOENT' || justChecked || opts.repair) throw err;
      if (await this.objects.exists(bucket, key)) return { sent: 0 };
      const stored = await this.storedManifest(checksum);
      if (stored) return { sent: 0, chunks: stored.chunks.length };
      throw err;
    }
    if (source.isDirectory()) return this.putChunked(checksum, sourcePath, justChecked, opts);
    if (!justChecked) {
      // One of another length (an upload another tool cut short) is replaced, never trusted.
      const length = await this.objects.size(bucket, key);
      if (length !== undefined) {
        if (opts.repair ? (await this.objects.hash(bucket, key)) === checksum : length === source.size) return { sent: 0 };
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
      await this.objects.putBytes(bucket, key, body, sha256, this.storageClass());
    } else {
      await this.objects.putFile(bucket, key, checksum, sourcePath, size, this.storageClass());
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
    const limit = pLimit(this.partsInFlight);
    if (!justChecked && !opts.repair) {
      // A GET costs what a HEAD costs, and tells how many chunks the stored manifest has. It stands only if
      // the chunks staged in hand are in the bucket: `bt add` stages a chunk a vault lacks (elsewhere the
      // bucket's chunks are trusted, as `bt add` trusts them), and dropping it would leave the new version
      // naming a chunk nobody has.
      const stored = await this.storedManifest(checksum);
      const inHand = distinctChunks(manifest).filter(([id]) => existsSync(join(dir, id)));
      // Asked of the bucket, not of what this run saw: this is the path of a chunk lost since.
      const whole = async (id: string, length: number): Promise<boolean> => {
        if ((await this.objects.size(bucket, this.chunkKey(id))) === length) return true;
        this.presentChunks.delete(id);
        return false;
      };
      const held = async (): Promise<boolean> => (await Promise.all(inHand.map(([id, length]) => limit(() => whole(id, length))))).every(Boolean);
      if (stored && (await held())) return { sent: 0, chunks: stored.chunks.length };
      if (!stored && (await this.objects.exists(bucket, this.contentKey(checksum)))) return { sent: 0 };
    }
    let sent = 0;
    let failed = false;
    const results = await Promise.allSettled(
      distinctChunks(manifest).map(([id, length]) =>
        limit(async () => {
          if (failed || (this.presentChunks.has(id) && !opts.repair)) return;
          try {
            const key = this.chunkKey(id);
            if ((await this.objects.size(bucket, key)) === length && (!opts.repair || (await this.objects.hash(bucket, key)) === id)) {
              this.presentChunks.add(id);
              return;
            }
            const body = await readStagedChunk(dir, id, length, opts.chunkSource);
            await this.objects.putBytes(bucket, key, body, id, this.storageClass());
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
    await this.objects.putBytes(bucket, this.manifestKey(checksum), bytes, sha256Hex(bytes));
    return { sent, chunks: manifest.chunks.length };
  }

  /** The manifest stored for a content, or undefined when there is none (or none that decodes: it is rewritten). */
  private async storedManifest(checksum: string): Promise<ChunkManifest | undefined> {
    const bytes = await this.objects.read(this.config.content_bucket, this.manifestKey(checksum));
    if (!bytes) return undefined;
    const m = decodeManifest(bytes, checksum);
    return m.ok ? m.value : undefined;
  }

  /** The stored manifest of a content without a whole object: absent is 'missing', undecodable 'corrupt'. */
  private async manifestOf(checksum: string): Promise<ChunkManifest> {
    const bytes = await this.objects.read(this.config.content_bucket, this.manifestKey(checksum));
    if (!bytes) throw new VaultObjectError('missing', this.name, `content/${checksum}`);
    return parseStoredManifest(this.name, checksum, bytes);
  }

  readChunk = (id: string): Promise<Buffer | undefined> => this.objects.read(this.config.content_bucket, this.chunkKey(id));

  async hasChunk(id: string, length: number): Promise<boolean> {
    if (this.presentChunks.has(id)) return true;
    const found = (await this.objects.size(this.config.content_bucket, this.chunkKey(id))) === length;
    if (found) this.presentChunks.add(id);
    return found;
  }

  manifestFor(checksum: string): Promise<ChunkManifest | undefined> {
    return this.storedManifest(checksum);
  }

  async chunksOf(checksum: string): Promise<readonly (readonly [string, number])[] | undefined> {
    const m = await this.storedManifest(checksum);
    return m && distinctChunks(m);
  }

  /** Deletes a content's object or manifest (bt check --repair replaces a corrupt one this way); chunks stay. */
  async removeContent(checksum: string): Promise<void> {
    const bucket = this.config.content_bucket;
    for (const key of [this.contentKey(checksum), this.manifestKey(checksum)]) await this.objects.remove(bucket, key);
  }

  async verifyContent(checksum: string, readData: boolean, size?: number): Promise<void> {
    const bucket = this.config.content_bucket;
    const key = this.contentKey(checksum);
    if (readData) {
      const actual = await this.objects.hash(bucket, key);
      if (actual !== undefined) {
        if (actual !== checksum) throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
        return;
      }
    } else {
      const length = await this.objects.size(bucket, key);
      if (length !== undefined) {
        if (size !== undefined && length !== size) throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
        return;
      }
    }
    const m = await this.manifestOf(checksum);
    if (readData) return readChunks(this.name, m, this.readChunk, null, this.partsInFlight);
    this.chunkListing ??= this.objects.list(bucket, `${this.config.content_bucket_prefix}chunks/`).then((keys) => new Set(keys));
    const listed = await this.chunkListing;
    for (const [id] of distinctChunks(m)) {
      if (!listed.has(id)) throw new VaultObjectError('missing', this.name, `chunks/${id}`);
    }
  }

  private storageClass(): StorageClass | undefined {
    // Vendor classes beyond the SDK's list are passed through as written; the server judges them.
    return this.config.storage_class as StorageClass | undefined;
  }

  /** Nothing to do: S3 has the object durably once its PUT (or CompleteMultipartUpload) returned 200. */
  async flush(): Promise<void> {}

  async getContent(checksum: string, outputPath: string): Promise<void> {
    const tmp = restoreTmpPath(outputPath);
    const sha256 = await this.objects.download(this.config.content_bucket, this.contentKey(checksum), tmp);
    if (sha256 === undefined) return this.getChunked(checksum, outputPath);
    if (sha256 !== checksum) {
      await rm(tmp, { force: true });
      throw new VaultObjectError('corrupt', this.name, `content/${checksum}`);
    }
    await rename(tmp, outputPath);
  }

  /** Chunk by chunk (a few fetched ahead) into a temporary file beside the output, all verified, then renamed. */
  private async getChunked(checksum: string, outputPath: string): Promise<void> {
    await writeChunkedContent(this.name, await this.manifestOf(checksum), this.readChunk, this.partsInFlight, outputPath);
  }

  async putMetadata(key: string, data: Buffer): Promise<void> {
    const full = this.metadataKey(key);
    const bucket = this.config.metadata_bucket;
    // Keys are immutable. S3-compatible servers differ on conditional PUTs (s3rver ignores If-None-Match), so
    // read first. One host writes its own keys under its host lock; only two machines with one host id race
    // (a cloned disk): read back after the write, the one whose bytes were replaced is told. This narrows
    // the window; it cannot close it as a filesystem vault's exclusive link does.
    const refused = (): Error => vaultError(`vault "${this.name}": metadata ${key} exists with other bytes; refusing to overwrite it`);
    const existing = await this.objects.read(bucket, full);
    if (existing) {
      if (existing.equals(data)) return;
      throw refused();
    }
    await this.objects.putBytes(bucket, full, data, createHash('sha256').update(data).digest('hex'));
    const back = await this.objects.read(bucket, full);
    if (!back?.equals(data)) throw refused();
  }

  async replaceMetadata(key: string, data: Buffer): Promise<void> {
    await this.objects.putBytes(this.config.metadata_bucket, this.metadataKey(key), data, createHash('sha256').update(data).digest('hex'));
  }

  async getMetadata(key: string): Promise<Buffer> {
    const data = await this.objects.read(this.config.metadata_bucket, this.metadataKey(key));
    if (!data) throw new VaultObjectError('missing', this.name, `metadata/${key}`);
    return data;
  }

  async listMetadata(prefix: string): Promise<string[]> {
    const base = this.config.metadata_bucket_prefix;
    return (await this.objects.list(this.config.metadata_bucket, base + prefix)).map((k) => prefix + k).sort();
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
        throw this.objects.fail(err, bucket);
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
      throw this.objects.fail(err, bucket);
    }
    return `created bucket "${bucket}" at ${this.endpoint}`;
  }

  private async probe(bucket: string, prefix: string): Promise<void> {
    const key = `${prefix}bt-probe-${randomBytes(8).toString('hex')}`;
    const bytes = randomBytes(4096);
    await this.objects.putBytes(bucket, key, bytes, createHash('sha256').update(bytes).digest('hex'));
    const back = await this.objects.read(bucket, key);
    await this.objects.remove(bucket, key);
    if (!back) throw vaultError(`vault "${this.name}": a probe written to s3://${bucket}/${key} could not be read back`);
    if (!back.equals(bytes)) throw vaultError(`vault "${this.name}": a probe at s3://${bucket}/${key} read back different bytes`, 'the server corrupts objects; see ADR 0009 for the client settings S3-compatible servers need');
    if (await this.objects.exists(bucket, key)) throw vaultError(`vault "${this.name}": a probe at s3://${bucket}/${key} is still there after being deleted`);
  }

  close(): void {
    this.client.destroy();
  }
}

