// Runs s3rver for the tests in its own process: `node --openssl-legacy-provider s3rver-child.cjs DIR PORT`.
// Prints {"port":N} on stdout once listening; exits when its parent closes stdin (so it never outlives it).
'use strict';
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { Readable, Transform } = require('node:stream');
const { pipeline } = require('node:stream/promises');
const S3rver = require('s3rver');
const FilesystemStore = require('s3rver/lib/stores/filesystem');

const [directory, portArg] = process.argv.slice(2);
if (!directory) throw new Error('usage: s3rver-child.cjs DIR [PORT]');

// s3rver writes objects and parts in place and answers before the file is fully written: a GET right after a
// PUT can read a short file, and a server killed mid-PUT leaves a truncated object that HEAD reports as present.
// Real S3 does neither, so the harness writes to a temporary file, waits for it, then renames it into place.
let serial = 0;
async function writeAtomically(target, content) {
  fs.mkdirSync(path.dirname(target), { recursive: true });
  const tmp = `${target}.tmp-${process.pid}-${serial++}`;
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
  fs.renameSync(tmp, target);
  return { size, md5: md5.digest('hex') };
}

FilesystemStore.prototype.putObject = async function putObject(object) {
  const target = this.getResourcePath(object.bucket, object.key, 'object');
  const { size, md5 } = await writeAtomically(target, object.content);
  await this.putMetadata(object.bucket, object.key, object.metadata, md5);
  return { size, md5 };
};

FilesystemStore.prototype.putPart = async function putPart(bucket, uploadId, partNumber, content) {
  const partPath = path.join(this.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
  const { size, md5 } = await writeAtomically(partPath, content);
  fs.writeFileSync(`${partPath}.md5`, md5);
  return { size, md5 };
};

const server = new S3rver({ address: '127.0.0.1', port: Number(portArg ?? 0), directory, silent: true });
server.run().then(
  (address) => process.stdout.write(`${JSON.stringify({ port: address.port })}\n`),
  (err) => {
    process.stderr.write(`s3rver failed to start: ${err.message}\n`);
    process.exit(1);
  },
);
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();
