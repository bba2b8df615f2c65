// Runs every test file (test/**/*.test.ts) in its own process, two at a time, and ends with one plain line
// "N passed, N failed" (uvu's own summary is per file). Usage: node scripts/test.mjs [filter]
import { spawn } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';

const root = fileURLToPath(new URL('..', import.meta.url));
const filter = process.argv[2] ?? '';

function findTests(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return findTests(p);
    return name.endsWith('.test.ts') ? [p] : [];
  });
}

const files = findTests(join(root, 'test'))
  .filter((f) => relative(root, f).includes(filter))
  .sort();

function runFile(file) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', file], {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => {
      const total = Number(/Total:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const passed = Number(/Passed:\s+(\d+)/.exec(out)?.[1] ?? NaN);
      const skipped = Number(/Skipped:\s+(\d+)/.exec(out)?.[1] ?? 0);
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        // A file that crashed before uvu could report counts as one failure.
        resolve({ file, passed: 0, failed: 1, out, code });
      } else {
        const failed = total - passed - skipped + (code !== 0 && total === passed ? 1 : 0);
        resolve({ file, passed, failed, out, code });
      }
    });
  });
}

const workers = Math.max(1, Math.min(2, availableParallelism()));
const queue = [...files];
const results = [];
await Promise.all(
  Array.from({ length: workers }, async () => {
    for (let f = queue.shift(); f; f = queue.shift()) {
      const started = Date.now();
      const r = await runFile(f);
      results.push(r);
      const secs = ((Date.now() - started) / 1000).toFixed(1);
      console.log(`${r.failed === 0 ? 'ok  ' : 'FAIL'} ${relative(root, f)} (${r.passed} passed, ${r.failed} failed, ${secs}s)`);
      if (r.failed > 0) console.log(r.out.replace(/^/gm, '    '));
    }
  }),
);

const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const line = `${passed} passed, ${failed} failed`;
writeFileSync(join(root, '.test-summary'), `${line}\n`);
console.log(line);
process.exit(failed === 0 && files.length > 0 ? 0 : 1);
