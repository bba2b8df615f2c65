// Bundles src/cli.ts into dist/ with esbuild: one fast-starting file per entry, lazy chunks for S3 and watch.
import { build } from 'esbuild';
import { existsSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
// Built beside dist/ and swapped in, so a bt already running from dist/ keeps working meanwhile.
const fresh = `dist.new-${process.pid}`;
rmSync(`${root}/${fresh}`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  // Worker scripts are entries of their own: worker threads load them by file name beside the chunks.
  entryPoints: { cli: 'src/cli.ts', 'capture-worker': 'src/fs/capture-worker.ts', 'restore-worker': 'src/fs/restore-worker.ts', 'hash-worker': 'src/fs/hash-worker.ts', 'replay-worker': 'src/events/replay-worker.ts' },
  outdir: fresh,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // Native addon and heavy SDKs stay in node_modules; they are imported only on the paths that need them.
  external: ['better-sqlite3', '@aws-sdk/*', '@smithy/*', 'chokidar'],
  // Bundled CommonJS dependencies (io-ts, fp-ts) call require(); give ESM chunks one.
  banner: { js: "import { createRequire as __btCreateRequire } from 'node:module'; const require = __btCreateRequire(import.meta.url);" },
  define: { __BT_VERSION__: JSON.stringify(JSON.parse(readFileSync(`${root}/package.json`, 'utf8')).version) },
  logLevel: 'warning',
});
const old = `${root}/dist.old-${process.pid}`;
if (existsSync(`${root}/dist`)) renameSync(`${root}/dist`, old);
renameSync(`${root}/${fresh}`, `${root}/dist`);
rmSync(old, { recursive: true, force: true });
