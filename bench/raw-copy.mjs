// The "raw" reference: streams each file once through SHA-256 into a content-addressed copy, nothing else.
// Usage: node bench/raw-copy.mjs SRC_DIR DEST_DIR
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, readdirSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';

const [src, dest] = process.argv.slice(2);
mkdirSync(dest, { recursive: true });
let n = 0;
async function copy(file) {
  const hash = createHash('sha256');
  const tmp = join(dest, `tmp-${n++}`);
  await pipeline(createReadStream(file), new Transform({ transform(c, _e, cb) { hash.update(c); cb(null, c); } }), createWriteStream(tmp));
  renameSync(tmp, join(dest, hash.digest('hex')));
}
async function walk(dir) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await walk(p);
    else if (e.isFile() && !e.name.startsWith('.')) await copy(p);
  }
}
await walk(src);
