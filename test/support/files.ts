// Reading back what bt wrote: every file under a directory, and the objects in a filesystem vault.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string, rel: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) visit(join(d, e.name), r);
      else out.push(r);
    }
  };
  try {
    visit(dir, '');
  } catch {
    return [];
  }
  return out.sort();
}

/** What a staging area holds: the copies in its one-letter buckets, and anything else at its top (names, sorted). */
export function stagedCopies(stagingDir: string): string[] {
  return readdirSync(stagingDir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() && e.name.length === 1 ? readdirSync(join(stagingDir, e.name)) : [e.name]))
    .sort();
}

/** The content objects of a filesystem vault (their checksums). */
export const vaultObjects = (vault: string): string[] => listFiles(join(vault, 'content')).map((p) => p.split('/').pop()!);

export const mtimeMs = (path: string): number => statSync(path).mtimeMs;
export const modeOf = (path: string): number => statSync(path).mode & 0o7777;
