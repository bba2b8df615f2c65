// Builds the S3 client of an S3 vault with settings that hold on AWS and S3-compatible servers (ADR 0009).
// Only s3-vault.ts imports this module, and registry.ts imports that lazily: the SDK loads only for S3 vaults.
import { createHash } from 'node:crypto';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client } from '@aws-sdk/client-s3';
import type { S3VaultConfig } from '../config/schema.js';
import { userError } from '../core/errors.js';

/** Attempts per request (1 + 4 retries), standard mode: exponential backoff with jitter and a retry quota. */
export const MAX_ATTEMPTS = 5;
/** TCP (and TLS) connect must finish within this: an unreachable endpoint fails in seconds. */
export const CONNECT_TIMEOUT_MS = 3_000;
/** A socket with no traffic either way for this long is given up (and the request retried). */
export const SOCKET_IDLE_TIMEOUT_MS = 60_000;

export interface ClientOptions {
  /** Requests this client may have in flight at once; every one gets its own socket. */
  readonly maxSockets: number;
}

const SILENT_LOGGER = { debug: (): void => {}, info: (): void => {}, warn: (): void => {}, error: (): void => {} };

export function makeS3Client(config: S3VaultConfig, opts: ClientOptions): S3Client {
  // The SDK warns about the Node version on every run unless this is set before the first client exists.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  if ((config.access_key_id === undefined) !== (config.secret_access_key === undefined)) {
    throw userError(`vault "${config.name}": bt.toml has only one of access_key_id and secret_access_key`, 'give both, or neither (and use the standard AWS credential chain)');
  }
  // A request waiting for a free socket counts against the connect timeout: size the pool so none waits.
  const agent = { keepAlive: true, maxSockets: opts.maxSockets, maxFreeSockets: Math.min(opts.maxSockets, 32) };
  const client = new S3Client({
    endpoint: config.endpoint,
    // S3-compatible servers mostly ignore the region but the signature needs one.
    region: config.region ?? (config.endpoint ? 'us-east-1' : undefined),
    forcePathStyle: config.force_path_style ?? false,
    followRegionRedirects: config.endpoint === undefined,
    profile: config.profile,
    // The SDK's own logger writes to the console: its warning when a profile and AWS_ACCESS_KEY_ID are both
    // set (bt uses the profile, as named in bt.toml) came on every command. bt says what fails itself.
    logger: SILENT_LOGGER,
    credentials:
      config.access_key_id !== undefined && config.secret_access_key !== undefined
        ? { accessKeyId: config.access_key_id, secretAccessKey: config.secret_access_key }
        : undefined,
    // With the SDK defaults a streamed body is sent aws-chunked with a trailing CRC32: several S3-compatible
    // servers reject that, and s3rver stores the chunk framing as the object's bytes. bt sends its own checksums.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: MAX_ATTEMPTS,
    retryMode: 'standard',
    requestHandler: {
      connectionTimeout: CONNECT_TIMEOUT_MS,
      socketTimeout: SOCKET_IDLE_TIMEOUT_MS,
      httpAgent: new HttpAgent(agent),
      httpsAgent: new HttpsAgent(agent),
    },
  });
  client.middlewareStack.add(
    (next) => async (args) => {
      addContentMd5(args.request);
      return next(args);
    },
    { step: 'build', name: 'btContentMd5', tags: ['BT'] },
  );
  return client;
}

/**
 * Content-MD5 on every request with an in-memory body (single PUTs and each multipart part): the integrity
 * check every S3 implementation verifies, unlike the x-amz-checksum-* headers some reject outright. It is
 * added in the build step, before signing and retries, so it is computed once per request.
 */
function addContentMd5(request: unknown): void {
  if (typeof request !== 'object' || request === null) return;
  const r = request as { headers?: unknown; body?: unknown };
  if (!(r.body instanceof Uint8Array) || r.body.byteLength === 0) return;
  if (typeof r.headers !== 'object' || r.headers === null) return;
  const headers = r.headers as Record<string, string>;
  if (Object.keys(headers).some((h) => h.toLowerCase() === 'content-md5')) return;
  headers['content-md5'] = createHash('md5').update(r.body).digest('base64');
}
