// A filesystem vault's temporaries: what killed puts leave in tmp/, and killed metadata writes beside their
// keys, removed once surely dead.
import { lstatSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Temporary files older than this were left by a killed put (a put takes seconds). Younger ones may be
 * another host's put under way: hosts share a vault.
 */
const TMP_MAX_AGE_MS = 24 * 60 * 60 * 1000;

/** The name `writeFileAtomic` (src/fs/atomic.ts) writes a metadata key under before its rename. */
export const METADATA_TEMPORARY = /^\..+\.bt-tmp-[0-9a-f]{12}$/;

/**
 * Removes the temporary files in `dir` (those whose names `only` matches, when given) last changed before
 * `before` (ms). Housekeeping only: what cannot be read or removed (a vault mounted read-only) is left,
 * silently.
 */
export function sweepOldTemporaries(dir: string, only?: RegExp, before = Date.now() - TMP_MAX_AGE_MS): void {
  try {
    for (const name of readdirSync(dir)) {
      if (only && !only.test(name)) continue;
      const path = join(dir, name);
      const st = lstatSync(path, { throwIfNoEntry: false });
      if (st?.isFile() && st.mtimeMs < before) rmSync(path, { force: true });
    }
  } catch {
    /* left for a later run */
  }
}
