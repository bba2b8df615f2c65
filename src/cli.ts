// bt's process entry: answers --version without loading anything, else runs main and sets the exit code.
import { fileURLToPath } from 'node:url';
import { requireCached } from './core/code-cache.js';
import { keepHeapSlackSmall } from './core/heap.js';
import { BT_VERSION } from './version.js';

// `bt log x | head` closes stdout early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const args = process.argv.slice(2);
if (args.length === 1 && (args[0] === '--version' || args[0] === '-v')) {
  process.stdout.write(`bt ${BT_VERSION}\n`);
} else {
  keepHeapSlackSmall();
  // Built, this file and main.js are CommonJS (scripts/build.mjs): require keeps main off the ESM loader.
  const { main } = requireCached(fileURLToPath(new URL('./main.js', import.meta.url))) as typeof import('./main.js');
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
