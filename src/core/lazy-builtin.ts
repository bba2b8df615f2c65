// Node builtins loaded on first use, not at start-up: `bt add` or `bt backup` with nothing to do never
// spawns, gzips, hashes or starts a thread. Loading child_process, zlib and worker_threads up front cost each
// such run ~7 ms, and crypto ~7 ms more (a no-change `bt add . && bt backup` is two runs).
import { createRequire } from 'node:module';

const load = createRequire(import.meta.url);

function lazy<T>(name: string): () => T {
  let module: T | undefined;
  return () => (module ??= load(name) as T);
}

export const childProcess = lazy<typeof import('node:child_process')>('node:child_process');
export const zlib = lazy<typeof import('node:zlib')>('node:zlib');
export const workerThreads = lazy<typeof import('node:worker_threads')>('node:worker_threads');
export const crypto = lazy<typeof import('node:crypto')>('node:crypto');
