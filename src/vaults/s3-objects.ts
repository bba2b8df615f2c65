// Object operations of an S3 vault on its client: HEAD, GET (whole, hashed, or into a file), PUT (one request
// carrying its SHA-256 where the server takes it, or multipart from a file, verified), LIST, DELETE; every
// failure mapped to one line (s3-errors.ts). What is stored under which key is s3-vault.ts's business.
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type PutObjectCommandInput,
  type S3Client,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import * as t from 'io-ts';
import { decodeWith } from '../core/decode.js';
import { type BtError, errnoCode, vaultError } from '../core/errors.js';
import { type S3Where, isNotFound, isUnsupportedChecksumHeader, s3Failure } from './s3-errors.js';
import { StagedCopyDamaged } from './vault.js';
import { ContentMismatch, collect, verifyingStream } from './s3-transfer.js';

const MiB = 1024 * 1024;
/** Multipart part size: S3's minimum is 5 MiB; 8 MiB keeps memory small and parts few. */
export const PART_SIZE = 8 * MiB;
/** Larger files go multipart (streamed in parts); smaller ones are one PUT from memory. */
export const MULTIPART_THRESHOLD = PART_SIZE;
const MAX_PARTS = 10_000;
const LOCAL_FS_ERRORS = new Set(['ENOENT', 'EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EEXIST', 'EROFS', 'EISDIR', 'ENOTDIR', 'EMFILE', 'ENFILE', 'EIO']);

/** The parts of a ListObjectsV2 answer bt relies on. */
const ListPage = t.partial({
  Contents: t.array(t.partial({ Key: t.string })),
  IsTruncated: t.boolean,
  NextContinuationToken: t.string,
});

/** Where failures happen, for their one-line message: the vault, its endpoint and region, secrets to scrub. */
export type S3Place = Omit<S3Where, 'bucket' | 'key'>;

export class S3Objects {
  /** Cleared when the server rejects x-amz-checksum-sha256 (Backblaze B2, Cloudflare R2): Content-MD5 remains. */
  private sendSha256 = true;

  constructor(
    private readonly client: S3Client,
    private readonly place: S3Place,
    private readonly partsInFlight: number,
  ) {}

  fail(err: unknown, bucket?: string, key?: string): BtError {
    return s3Failure(err, { ...this.place, bucket, key });
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    return (await this.size(bucket, key)) !== undefined;
  }

  /** The object's length (a HEAD), or undefined when there is no such object. */
  async size(bucket: string, key: string): Promise<number | undefined> {
    try {
      return (await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }))).ContentLength ?? 0;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(err, bucket, key);
    }
  }

  /** The object's bytes (small objects: metadata, manifests, chunks), or undefined when there is no such object. */
  async read(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      const res = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await collect(res.Body, `vault "${this.place.vault}": s3://${bucket}/${key}`);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(err, bucket, key);
    }
  }

  /** Streams an object into `path` (which must not exist) and returns its SHA-256; undefined when absent. */
  async download(bucket: string, key: string, path: string | null): Promise<string | undefined> {
    let body: unknown;
    try {
      body = (await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw this.fail(err, bucket, key);
    }
    if (!(body instanceof Readable)) throw vaultError(`vault "${this.place.vault}": s3://${bucket}/${key}: the server sent no readable body`);
    const hash = createHash('sha256');
    try {
      if (path === null) {
        for await (const chunk of body) hash.update(chunk as Buffer);
      } else {
        await pipeline(
          body,
          async function* (chunks: AsyncIterable<Buffer>) {
            for await (const chunk of chunks) {
              hash.update(chunk);
              yield chunk;
            }
          },
          createWriteStream(path, { flags: 'wx', mode: 0o600 }),
        );
      }
    } catch (err) {
      // A partial download goes; a file that was there before (EEXIST) is not ours to remove.
      if (path !== null && errnoCode(err) !== 'EEXIST') await rm(path, { force: true });
      // A local write failure (no space, no permission) is not the server's: let it surface as itself.
      if (LOCAL_FS_ERRORS.has(errnoCode(err) ?? '')) throw err;
      throw this.fail(err, bucket, key);
    }
    return hash.digest('hex');
  }

  /** SHA-256 of an object's bytes, streamed through; undefined when there is no such object. */
  hash(bucket: string, key: string): Promise<string | undefined> {
    return this.download(bucket, key, null);
  }

  /**
   * One PUT of bytes in memory, with Content-MD5 (added by the client) and, where the server accepts it,
   * x-amz-checksum-sha256: the server then refuses bytes that are not the ones bt hashed.
   */
  async putBytes(bucket: string, key: string, body: Buffer, sha256Hex: string, storageClass?: StorageClass): Promise<void> {
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
   * Multipart upload streamed from a staged file: parts of PART_SIZE, a few in flight, each with Content-MD5.
   * The whole file's SHA-256 is checked as it is read, before the last part: a mismatch aborts the upload.
   */
  async putFile(bucket: string, key: string, checksum: string, sourcePath: string, size: number, storageClass?: StorageClass): Promise<void> {
    const partSize = Math.max(PART_SIZE, Math.ceil(size / MAX_PARTS / MiB) * MiB);
    // Opened first: a staged copy that is gone fails here, as the file error it is (backup reports it so).
    const handle = await open(sourcePath, 'r');
    const verified = verifyingStream(checksum, size);
    const source = handle.createReadStream({ highWaterMark: MiB });
    // A read error reaches the upload through `verified`; the promise itself is awaited only for cleanup.
    const piping = pipeline(source, verified).catch(() => undefined);
    const upload = new Upload({
      client: this.client,
      params: { Bucket: bucket, Key: key, Body: verified, ContentLength: size, StorageClass: storageClass },
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
      throw vaultError(`vault "${this.place.vault}": s3://${bucket}/${key} was stored with ${stored ?? '?'} bytes instead of ${size}; removed it`);
    }
  }

  /** A single DeleteObject (no batch deletes: some servers refuse them without Content-MD5). */
  async remove(bucket: string, key: string): Promise<void> {
    try {
      await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    } catch (err) {
      throw this.fail(err, bucket, key);
    }
  }

  /** Every key under a prefix (the prefix itself stripped), page by page. */
  async list(bucket: string, prefix: string): Promise<string[]> {
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
      if (!page.ok) throw vaultError(`vault "${this.place.vault}": unexpected listing of s3://${bucket}/${prefix}: ${page.reason}`);
      for (const o of page.value.Contents ?? []) if (o.Key?.startsWith(prefix)) keys.push(o.Key.slice(prefix.length));
      token = page.value.IsTruncated ? page.value.NextContinuationToken : undefined;
      if (page.value.IsTruncated && !token) throw vaultError(`vault "${this.place.vault}": listing of s3://${bucket}/${prefix} is truncated without a continuation token`);
    } while (token);
    return keys;
  }
}

export const stagedCopyChanged = (path: string, checksum: string): BtError =>
  new StagedCopyDamaged(`the staged copy ${path} no longer has checksum ${checksum.slice(0, 12)}`);
