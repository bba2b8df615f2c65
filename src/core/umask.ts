// bt runs with umask 077 so its own files are owner-only; files it restores for the user use the user's umask.
let userUmask = 0o022;

/** Called once at start-up: remembers the user's umask and makes bt's own files private. */
export function makeOwnFilesPrivate(): void {
  userUmask = process.umask(0o077);
}

/** The mode a new file would get from the user's own umask. */
export const defaultFileMode = (): number => 0o666 & ~userUmask;
