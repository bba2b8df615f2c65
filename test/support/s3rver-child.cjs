// Runs s3rver for the tests in its own process: `node --openssl-legacy-provider s3rver-child.cjs DIR PORT [LOG]`.
// Prints {"port":N} on stdout once listening; exits when its parent closes stdin (so it never outlives it).
// With LOG, appends one JSON line per request: method, url and the integrity headers the client sent.
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');
const S3Object = require('s3rver/lib/models/object');
// lodash as s3rver itself resolves it (a dependency of s3rver, not of bt).
const { pick, pickBy } = require(require.resolve('lodash', { paths: [path.dirname(require.resolve('s3rver'))] }));

const [directory, portArg, logFile] = process.argv.slice(2);
if (!directory) throw new Error('usage: s3rver-child.cjs DIR [PORT]');

// s3rver writes objects, parts and their metadata files in place and answers before they are fully written: a
// GET right after a PUT can read a short file, and a server killed mid-PUT leaves a truncated object (or
// half a metadata.json, answered with 500 for ever after). Real S3 does neither, so the harness writes
// each file to a temporary name, waits for it, renames it into place, and renames the object file last.
let serial = 0;
const tempFor = (target) => `${target}.tmp-${process.pid}-${serial++}`;

async function writeStreamTo(tmp, content) {
  fs.mkdirSync(path.dirname(tmp), { recursive: true });
  const md5 = crypto.createHash('md5');
  let size = 0;
  const tap = new Transform({
    transform(chunk, _enc, done) {
      md5.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  const source = Buffer.isBuffer(content) ? Readable.from([content]) : content;
  try {
    await pipeline(source, tap, fs.createWriteStream(tmp));
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  return { size, md5: md5.digest('hex') };
}

function writeFileAtomic(target, data) {
  const tmp = tempFor(target);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, target);
}

FilesystemStore.prototype.putMetadata = async function putMetadata(bucket, key, metadata, md5) {
  const json = {
    ...pick(metadata, S3Object.ALLOWED_METADATA),
    ...pickBy(metadata, (_value, name) => name.startsWith('x-amz-meta-')),
  };
  if (md5) writeFileAtomic(this.getResourcePath(bucket, key, 'object.md5'), md5);
  writeFileAtomic(this.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(json, null, 2));
};

FilesystemStore.prototype.putObject = async function putObject(object) {
  const target = this.getResourcePath(object.bucket, object.key, 'object');
  const tmp = tempFor(target);
  const { size, md5 } = await writeStreamTo(tmp, object.content);
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  fs.renameSync(tmp, target);
  return { size, md5 };
};

FilesystemStore.prototype.putPart = async function putPart(bucket, uploadId, partNumber, content) {
  const partPath = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
  const tmp = tempFor(partPath);
  const { size, md5 } = await writeStreamTo(tmp, content);
  writeFileAtomic(`${partPath}.md5`, md5);
  fs.renameSync(tmp, partPath);
  return { size, md5 };
};

const server = new S3rver({ address: '127.0.0.1', port: Number(portArg ?? 0), directory, silent: true });
// s3rver lacks AbortMultipartUpload (DELETE ?uploadId answers 405); S3 removes the upload's parts.
server.middleware.unshift(async (ctx, next) => {
  const uploadId = ctx.method === 'DELETE' ? ctx.query.uploadId : undefined;
  if (typeof uploadId !== 'string' || !/^[0-9a-f]+$/.test(uploadId)) return next();
  const bucket = ctx.path.split('/')[1] ?? '';
  const dir = path.join(server.store.getResourcePath(bucket, undefined, 'uploads'), uploadId);
  if (!fs.existsSync(dir)) {
    ctx.status = 404;
    ctx.type = 'application/xml';
    ctx.body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchUpload</Code><Message>The specified upload does not exist.</Message></Error>';
    return;
  }
  fs.rmSync(dir, { recursive: true, force: true });
  ctx.status = 204;
});
// S3RVER_REJECT_CHECKSUM_HEADERS=1 makes it answer like Backblaze B2 to the x-amz-checksum-* headers it lacks.
if (process.env.S3RVER_REJECT_CHECKSUM_HEADERS === '1') {
  server.middleware.unshift(async (ctx, next) => {
    const header = Object.keys(ctx.headers).find((h) => h.startsWith('x-amz-checksum-') || h === 'x-amz-sdk-checksum-algorithm');
    if (!header) return next();
    ctx.status = 400;
    ctx.type = 'application/xml';
    ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidArgument</Code><Message>Unsupported header '${header}' received for this API call.</Message></Error>`;
  });
}
if (logFile) {
  // Koa composes its middleware array when the server starts: this runs before s3rver's router.
  server.middleware.unshift(async (ctx, next) => {
    const h = (name) => ctx.get(name) || undefined;
    const line = {
      method: ctx.method,
      url: ctx.url,
      length: Number(h('content-length') ?? 0),
      md5: h('content-md5'),
      sha256: h('x-amz-checksum-sha256'),
      checksumAlgorithm: h('x-amz-sdk-checksum-algorithm') ?? h('x-amz-checksum-algorithm'),
      encoding: h('content-encoding'),
      contentSha256: h('x-amz-content-sha256'),
      storageClass: h('x-amz-storage-class'),
    };
    fs.appendFileSync(logFile, `${JSON.stringify(line)}\n`);
    await next();
  });
}
server.run().then(
  (address) => process.stdout.write(`${JSON.stringify({ port: address.port })}\n`),
  (err) => {
    process.stderr.write(`s3rver failed to start: ${err.message}\n`);
    process.exit(1);
  },
);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
