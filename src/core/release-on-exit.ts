// A file a process holds (a lock, a status file) is removed when the process ends, even without a call.
import { rmSync } from 'node:fs';

export interface Held {
  /** Removes the file once, if `ours()` still says it is this process's (another may have taken it over). */
  release(): void;
  /** False once released. */
  held(): boolean;
}

/** Holds `file` until `release` is called or the process exits, whichever comes first. */
export function releaseOnExit(file: string, ours: () => boolean): Held {
  let held = true;
  const release = (): void => {
    if (!held) return;
    held = false;
    process.off('exit', release);
    if (ours()) rmSync(file, { force: true });
  };
  process.on('exit', release);
  return { release, held: () => held };
}
