// Loads the bundle's main.js with a V8 code cache made at build time: compiling its ~600 KB took ~18 ms of
// CPU in every command (ADR 0013). A cache V8 rejects (another Node, other flags, a changed bundle) only
// costs the compile it would have saved.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { Script } from 'node:vm';
import { keepHeapSlackSmall } from './heap.js';

/** CommonJS's own wrapper: the module sees the same five bindings as under require. */
const wrap = (source: string): string => `(function (exports, require, module, __filename, __dirname) { ${source}\n})`;

interface Loaded {
  readonly exports: unknown;
  readonly script: Script;
}

/**
 * No import() in such a file: on Node 20 a script compiled from a code cache loses its dynamic import
 * callback, whatever option is given (the build refuses a main.js that calls import()).
 */
const compile = (file: string, cachedData: Buffer | undefined): Script => new Script(wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });

function run(file: string, cachedData: Buffer | undefined): Loaded {
  const script = compile(file, cachedData);
  const module = { exports: {} as unknown };
  const body = script.runInThisContext() as (exports: unknown, require: NodeJS.Require, module: { exports: unknown }, filename: string, dirname: string) => void;
  body.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  return { exports: module.exports, script };
}

/** The exports of the CommonJS file `file`, compiled with `file.cache` when there is one V8 accepts. */
export function requireCached(file: string): unknown {
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    return createRequire(file)(file);
  }
  return run(file, cachedData).exports;
}

/**
 * Writes `file.cache`, with the V8 flags bt runs with: the module's top level runs, so the functions it
 * compiled on the way are in the cache too.
 */
export function writeCodeCache(file: string): void {
  keepHeapSlackSmall();
  writeFileSync(`${file}.cache`, run(file, undefined).script.createCachedData());
}

/** Whether V8 takes `file.cache` for `file`, in a process started as bt's is (a test holds the build to it). */
export function codeCacheAccepted(file: string): boolean {
  keepHeapSlackSmall();
  return !compile(file, readFileSync(`${file}.cache`)).cachedDataRejected;
}
