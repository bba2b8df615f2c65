import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { codeCacheAccepted, requireCached, writeCodeCache } from '../../src/core/code-cache.js';
import { tempDir } from '../support/tmp.js';

test('the build leaves a code cache of dist/main.js that V8 takes', () => {
  const main = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
  assert.ok(existsSync(`${main}.cache`), 'npm ci (the build) writes dist/main.js.cache');
  assert.ok(codeCacheAccepted(main), 'V8 rejects the cache the build made: the command start pays the compile again');
});

test('a module loads the same with its cache, with a cache V8 rejects, and with none', () => {
  const dir = tempDir('bt-code-cache');
  const file = join(dir, 'm.js');
  // require resolves from the module's own directory, and the CommonJS bindings are its own.
  writeFileSync(join(dir, 'dep.js'), 'module.exports = 41;\n');
  writeFileSync(file, 'exports.answer = require("./dep.js") + 1; exports.where = [__filename, __dirname]; exports.self = module.exports === exports;\n');
  const expected = { answer: 42, where: [file, dir], self: true };
  writeCodeCache(file);
  assert.ok(codeCacheAccepted(file));
  assert.equal(requireCached(file), expected);
  // A bundle changed after its cache was made (V8 keeps what it compiled in this process: a changed source
  // is a new compile), and a cache that is not one.
  const source = readFileSync(file, 'utf8');
  writeFileSync(file, `${source}// built again\n`);
  assert.not.ok(codeCacheAccepted(file));
  assert.equal(requireCached(file), expected);
  writeFileSync(file, `${source}// and again\n`);
  writeFileSync(`${file}.cache`, Buffer.alloc(4096, 7));
  assert.not.ok(codeCacheAccepted(file));
  assert.equal(requireCached(file), expected);
  rmSync(`${file}.cache`);
  assert.equal(requireCached(file), expected);
});

test.run();
