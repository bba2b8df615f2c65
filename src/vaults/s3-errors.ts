// Turns AWS SDK and network failures into one plain-language BtError: no stack, no SDK jargon, no secrets.
// Imports nothing from the SDK (errors are read by shape), so it is cheap to load and easy to unit-test.
import * as t from 'io-ts';
import { BtError, userError, vaultError } from '../core/errors.js';

/** What the SDK and Node put on the errors they throw; every field is optional and checked. */
const ErrorShape = t.partial({
  name: t.string,
  message: t.string,
  /** Node network errors: ECONNREFUSED, ENOTFOUND... */
  code: t.string,
  /** The S3 error code from the response body (NoSuchBucket, AccessDenied...). */
  Code: t.string,
  $metadata: t.partial({ httpStatusCode: t.number, attempts: t.number }),
  cause: t.unknown,
  errors: t.array(t.unknown),
});
type ErrorShape = t.TypeOf<typeof ErrorShape>;

function shapeOf(err: unknown): ErrorShape {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const decoded = ErrorShape.decode(err);
  // A field of an unexpected type only loses that field: read the rest one by one.
  if (decoded._tag === 'Right') return decoded.right;
  const o = err as Record<string, unknown>;
  const str = (k: string): string | undefined => (typeof o[k] === 'string' ? (o[k] as string) : undefined);
  return { name: str('name'), message: str('message'), code: str('code'), Code: str('Code') };
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection closed',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ECONNABORTED: 'connection aborted',
  EPROTO: 'TLS/protocol error',
  CERT_HAS_EXPIRED: 'TLS certificate has expired',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed TLS certificate',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'TLS certificate not trusted',
  ERR_TLS_CERT_ALTNAME_INVALID: 'TLS certificate is for another host',
};

/** The network-level cause of an error, looking through `cause` and AggregateError's `errors`. */
function networkCause(err: unknown, depth = 0): string | undefined {
  if (depth > 4) return undefined;
  const e = shapeOf(err);
  if (e.code && NETWORK_CODES[e.code]) return NETWORK_CODES[e.code];
  if (e.name === 'TimeoutError' || e.name === 'RequestTimeout') return 'no answer in time';
  for (const inner of [e.cause, ...(e.errors ?? [])]) {
    if (inner === undefined) continue;
    const found = networkCause(inner, depth + 1);
    if (found) return found;
  }
  return undefined;
}

export interface S3Where {
  readonly vault: string;
  /** The endpoint URL, or "AWS S3" when none is configured. */
  readonly endpoint: string;
  readonly bucket?: string;
  readonly key?: string;
  readonly region?: string;
  /** Values that must never appear in a message (access keys, secrets, tokens). */
  readonly secrets: readonly string[];
  /** The named profile of the shared AWS config the vault uses, if any. */
  readonly profile?: string;
}

/** Replaces every secret (and anything signature-like) in a text; keeps messages to one line. */
export function scrub(text: string, secrets: readonly string[]): string {
  let out = text.split('\n')[0] ?? '';
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('********');
  // Presigned URLs or echoed headers could carry signatures and credential scopes.
  out = out.replace(/(Signature|Credential|X-Amz-Security-Token|X-Amz-Credential|AWSAccessKeyId)=[^&\s"]+/gi, '$1=********');
  return out.length > 300 ? `${out.slice(0, 297)}...` : out;
}

/** The secrets bt knows of for a vault: configured keys and the standard environment variables. */
export function knownSecrets(configured: readonly (string | undefined)[]): string[] {
  const env = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN'].map((k) => process.env[k]);
  return [...configured, ...env].filter((s): s is string => typeof s === 'string' && s.length > 0);
}

const location = (w: S3Where): string => (w.bucket ? `s3://${w.bucket}${w.key ? `/${w.key}` : ''}` : w.endpoint);

const POLICY_HINT = 'check the credentials and that their policy allows s3:ListBucket, s3:GetObject, s3:PutObject and s3:DeleteObject on the bucket';

/**
 * One BtError for any failure of an S3 call: the problem in plain words (endpoint unreachable, no credentials,
 * access denied, no such bucket, wrong region, server error) and what to do.
 */
export function s3Failure(err: unknown, where: S3Where): BtError {
  if (err instanceof BtError) return err;
  const e = shapeOf(err);
  const prefix = `vault "${where.vault}"`;
  const code = e.Code ?? e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  const said = scrub(e.message ?? '', where.secrets);

  if (e.name === 'CredentialsProviderError' || /could not load credentials|credential.*(not found|missing)/i.test(e.message ?? '')) {
    if (where.profile !== undefined) {
      return vaultError(
        `${prefix}: no credentials for profile "${where.profile}": it is not in the shared AWS config or credentials files (~/.aws/config, ~/.aws/credentials), or has no keys; with a profile named, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not used`,
        `add the profile (\`aws configure --profile ${where.profile}\`), or remove \`profile\` from the vault in bt.toml to use the environment's keys`,
      );
    }
    return vaultError(
      `${prefix}: no credentials: none found in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), the shared AWS config and credentials files${/profile/i.test(said) ? ' or the named profile' : ''}`,
      'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or name a profile (`--profile` at `bt config vault add`, `profile` in bt.toml)',
    );
  }
  if (/region is missing/i.test(e.message ?? '')) {
    return userError(`${prefix}: no region is configured for S3`, 'add `region` to the vault in bt.toml (or `--region` at `bt config vault add`), or set AWS_REGION');
  }
  const net = networkCause(err);
  if (net && status === undefined) {
    return vaultError(
      `${prefix}: endpoint unreachable: cannot reach ${where.endpoint} (${net})`,
      'check the endpoint URL, the network and that the server is running',
    );
  }
  switch (code) {
    case 'InvalidAccessKeyId':
      return vaultError(`${prefix}: access denied: the server does not know this access key (InvalidAccessKeyId)`, 'check AWS_ACCESS_KEY_ID or the profile\'s keys');
    case 'SignatureDoesNotMatch':
      return vaultError(`${prefix}: access denied: the secret key does not match the access key (SignatureDoesNotMatch)`, 'check AWS_SECRET_ACCESS_KEY or the profile\'s keys');
    case 'ExpiredToken':
    case 'TokenRefreshRequired':
    case 'InvalidToken':
      return vaultError(`${prefix}: access denied: the session token has expired or is invalid (${code})`, 'refresh the credentials (e.g. `aws sso login`) and try again');
    case 'AccessDenied':
    case 'AllAccessDisabled':
    case 'AccountProblem':
    case 'Forbidden':
      return vaultError(`${prefix}: access denied to ${location(where)} (${code})`, POLICY_HINT);
    case 'NoSuchBucket':
      return vaultError(`${prefix}: no such bucket "${where.bucket ?? '?'}" at ${where.endpoint}`, 'run `bt config vault init` to create it, or check the bucket name');
    case 'PermanentRedirect':
    case 'AuthorizationHeaderMalformed':
    case 'IllegalLocationConstraintException':
      return vaultError(
        `${prefix}: bucket "${where.bucket ?? '?'}" is in another region than ${where.region ?? 'the configured one'} (${code})`,
        'set the bucket\'s region (`region` in bt.toml, or `--region` at `bt config vault add`)',
      );
    case 'InvalidObjectState':
      return vaultError(`${prefix}: ${location(where)} is archived and cannot be read directly (InvalidObjectState)`, 'restore it in S3 first (archive storage classes need a restore request)');
    case 'SlowDown':
    case 'RequestLimitExceeded':
      return vaultError(`${prefix}: the server asked bt to slow down and kept refusing after retries (${code})`, 'try again later, or lower backup.concurrency');
    default:
      break;
  }
  if (status === 403) return vaultError(`${prefix}: access denied to ${location(where)} (HTTP 403)`, POLICY_HINT);
  if (status === 301) return vaultError(`${prefix}: bucket "${where.bucket ?? '?'}" is in another region (HTTP 301)`, 'set the bucket\'s region in bt.toml or with `--region`');
  if (status !== undefined && status >= 500) {
    const attempts = e.$metadata?.attempts;
    return vaultError(
      `${prefix}: the S3 server failed (HTTP ${status}${code && code !== 'UnknownError' ? ` ${code}` : ''})${attempts && attempts > 1 ? ` after ${attempts} attempts` : ''}`,
      'try again later; staged files are kept',
    );
  }
  const what = code && code !== 'Error' && code !== 'UnknownError' ? code : 'error';
  return vaultError(`${prefix}: S3 ${what}${status ? ` (HTTP ${status})` : ''} at ${location(where)}${said && said !== code ? `: ${said}` : ''}`);
}

/** True when the status and code mean "no such object" (HEAD answers a bare 404 NotFound). */
export function isNotFound(err: unknown): boolean {
  const e = shapeOf(err);
  const code = e.Code ?? e.name;
  if (code === 'NoSuchBucket') return false;
  return code === 'NoSuchKey' || code === 'NotFound' || e.$metadata?.httpStatusCode === 404;
}

export function httpStatus(err: unknown): number | undefined {
  return shapeOf(err).$metadata?.httpStatusCode;
}

export function errorCode(err: unknown): string | undefined {
  const e = shapeOf(err);
  return e.Code ?? e.name;
}

/**
 * True when a server refused a request because of a checksum header it does not implement (Backblaze B2:
 * 400 InvalidArgument "Unsupported header 'x-amz-checksum-sha256'"; Cloudflare R2: 501 NotImplemented).
 */
export function isUnsupportedChecksumHeader(err: unknown): boolean {
  const e = shapeOf(err);
  const status = e.$metadata?.httpStatusCode;
  const code = e.Code ?? e.name ?? '';
  return (status === 400 || status === 501) && ['InvalidArgument', 'NotImplemented', 'InvalidRequest'].includes(code) && /checksum/i.test(e.message ?? '');
}
