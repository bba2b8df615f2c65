// bt config vault add NAME --type s3 --bucket B [...] | --type fs --path DIR: adds a vault to the config.
import * as t from 'io-ts';
import { maskVault } from '../config/mask.js';
import { ExitCode, usageError } from '../core/errors.js';
import { type VaultInput, addVault } from '../service/vault-config.js';
import { checkNameReuse } from '../service/vault-reuse.js';
import { withContext } from './run-context.js';
import { CliFlag, CliString, JsonOption, command, optional } from './command.js';
import { describeVault } from './config-list.js';

const S3_ONLY = ['bucket', 'prefix', 'endpoint', 'region', 'forcePathStyle', 'storageClass', 'metadataBucket', 'metadataPrefix', 'profile'] as const;
const flagOf = (key: string): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

const Options = t.type({
  type: optional(CliString),
  path: optional(CliString),
  bucket: optional(CliString),
  prefix: optional(CliString),
  endpoint: optional(CliString),
  region: optional(CliString),
  forcePathStyle: CliFlag,
  storageClass: optional(CliString),
  metadataBucket: optional(CliString),
  metadataPrefix: optional(CliString),
  profile: optional(CliString),
});
type Options = t.TypeOf<typeof Options>;

/** The flags given, checked against the vault type: each type takes only its own flags. */
function toInput(name: string, o: Options): VaultInput {
  if (o.type === undefined) throw usageError('bt config vault add: --type is required', 'use --type s3 --bucket NAME, or --type fs --path DIR');
  if (o.type === 'fs') {
    const stray = S3_ONLY.find((k) => o[k] !== undefined && o[k] !== false);
    if (stray) throw usageError(`${flagOf(stray)} applies to --type s3 only`);
    if (o.path === undefined) throw usageError('--type fs needs --path DIR', 'the directory that holds (or will hold) the vault, an absolute path');
    return { type: 'fs', name, path: o.path };
  }
  if (o.type === 's3') {
    if (o.path !== undefined) throw usageError('--path applies to --type fs only', 'an S3 vault takes --bucket and optionally --prefix');
    if (o.bucket === undefined) throw usageError('--type s3 needs --bucket NAME');
    return {
      type: 's3',
      name,
      bucket: o.bucket,
      prefix: o.prefix,
      endpoint: o.endpoint,
      region: o.region,
      forcePathStyle: o.forcePathStyle,
      storageClass: o.storageClass,
      metadataBucket: o.metadataBucket,
      metadataPrefix: o.metadataPrefix,
      profile: o.profile,
    };
  }
  throw usageError(`unknown vault type "${o.type}"`, 'use --type s3 or --type fs');
}

export const configVaultAdd = command({
  name: 'config vault add',
  args: '<name>',
  description: 'Add a vault: --type s3 --bucket B [--prefix P ...] or --type fs --path DIR',
  options: [
    { flags: '--type <type>', description: 's3 or fs' },
    { flags: '--path <dir>', description: 'fs: the vault directory (absolute)' },
    { flags: '--bucket <bucket>', description: 's3: the bucket for content' },
    { flags: '--prefix <prefix>', description: 's3: key prefix in the bucket (default none)' },
    { flags: '--endpoint <url>', description: 's3: endpoint of an S3-compatible server (default AWS)' },
    { flags: '--region <region>', description: 's3: region (default from AWS_REGION or the profile; us-east-1 with --endpoint)' },
    { flags: '--force-path-style', description: 's3: address buckets as URL paths (MinIO, most local servers)' },
    { flags: '--storage-class <class>', description: 's3: storage class of content objects, e.g. STANDARD_IA' },
    { flags: '--metadata-bucket <bucket>', description: 's3: bucket for metadata (default the content bucket)' },
    { flags: '--metadata-prefix <prefix>', description: 's3: prefix for metadata (default <prefix>metadata/)' },
    { flags: '--profile <profile>', description: 's3: named profile of the shared AWS config for credentials' },
    JsonOption,
  ],
  optionsCodec: Options,
  async run(args, opts, io) {
    const input = toInput(args[0]!, opts);
    const r = await withContext(io.reporter('vault add'), 'config vault add', (ctx) =>
      addVault(
        input,
        (vault) => checkNameReuse(ctx.store.queries, vault, (m) => ctx.reporter.notice(m)),
        ctx.store.queries.listDirectories().map((d) => d.path),
      ),
    );
    io.json({ config: r.path, vault: maskVault(r.vault) });
    io.line(`added vault ${describeVault(r.vault)}`);
    io.line('next: `bt config vault init` to set it up and check access; the next `bt backup` copies every backed-up version into it');
    return ExitCode.ok;
  },
});
