// Temporary directories for tests, removed when the process exits.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  if (process.env.BT_KEEP_TMP) return;
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(label = 'bt-test'): string {
  const dir = mkdtempSync(join(tmpdir(), `${label}-`));
  made.push(dir);
  return dir;
}
