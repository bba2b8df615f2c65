// Bundles src/cli.ts into dist/ with esbuild: a tiny entry that answers --version, the commands in one file.
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Built beside dist/ and swapped in, so a bt already running from dist/ keeps working meanwhile.
const fresh = `dist.new-${process.pid}`;
rmSync(`${root}/${fresh}`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // Worker scripts are entries of their own: worker threads load them by file name. `main` is loaded by `cli`
  // only when a command runs (`bt --version` loads nothing else).
  entryPoints: {
    cli: 'src/cli.ts', main: 'src/main.ts', 'capture-worker': 'src/fs/capture-worker.ts', 'restore-worker': 'src/fs/restore-worker.ts',
    'hash-worker': 'src/fs/hash-worker.ts', 'replay-worker': 'src/events/replay-worker.ts', 'code-cache': 'src/core/code-cache.ts',
  },
  outdir: fresh,
  bundle: true,
  // CommonJS, each entry whole: Node's CommonJS loader starts a command ~35 ms sooner than its ESM loader
  // on the same code (ADR 0002). Lazy parts (S3, watch, progress) stay lazy: bundled, evaluated on first use.
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Native addon and heavy SDKs stay in node_modules; they are loaded only on the paths that need them.
  external: ['better-sqlite3', '@aws-sdk/*', '@smithy/*', 'chokidar', './main.js'],
  // The sources are ES modules (run as such by the tests); in the bundle, import.meta.url is the file's own.
  define: { __BT_VERSION__: JSON.stringify(JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).version), 'import.meta.url': '__btModuleUrl' },
  banner: { js: "const __btModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
  logLevel: 'warning',
});
// The package is "type": "module"; the bundle's .js files are CommonJS.
writeFileSync(`${root}/${fresh}/package.json`, '{ "type": "commonjs" }\n');
const old = `${root}/dist.old-${process.pid}`;
if (existsSync(`${root}/dist`)) renameSync(`${root}/dist`, old);
renameSync(`${root}/${fresh}`, `${root}/dist`);
rmSync(old, { recursive: true, force: true });
// A script compiled from a code cache loses its import() callback on Node 20 ("A dynamic import callback was
// not specified"): main.js must load its modules with require.
if (/\bimport\(/.test(readFileSync(`${root}/dist/main.js`, 'utf8').replace(/typeof import\(/g, ''))) {
  throw new Error('dist/main.js calls import(): load the module with require (createRequire) instead, see src/core/code-cache.ts');
}
// main.js's V8 code cache (src/core/code-cache.ts), made by a Node process as bt's own would be. Made in
// place: V8 keeps the file name it compiled under in the cache, and stack traces would name dist.new-*.
const made = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(`${root}/dist/code-cache.js`)}).writeCodeCache(${JSON.stringify(`${root}/dist/main.js`)})`], { stdio: 'inherit' });
if (made.status !== 0) throw new Error('could not write the code cache of dist/main.js');
