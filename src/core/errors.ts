// The one error model of bt and the exit code each kind of failure maps to.

export const ExitCode = {
  ok: 0,
  /** The command could not do what was asked: bad input, missing file, vault failure. */
  error: 1,
  /** Unknown command or option, missing or extra arguments. */
  usage: 2,
  /** Done, but some files were skipped (unreadable, changed while read); they are listed. */
  partial: 3,
  /** Corruption found: broken journal chain, undecodable row, missing or corrupt vault object. */
  integrity: 4,
  /** Another bt process holds the host lock and did not release it in time. */
  busy: 5,
  /** A bug in bt. */
  internal: 70,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind = 'user' | 'usage' | 'integrity' | 'busy' | 'vault';

/** An expected failure: its message is one line saying what was wrong, its hint what to do. */
export class BtError extends Error {
  constructor(
    readonly kind: ErrorKind,
    message: string,
    readonly hint?: string,
  ) {
    super(message);
    this.name = 'BtError';
  }
}

export const userError = (message: string, hint?: string): BtError => new BtError('user', message, hint);
export const usageError = (message: string, hint?: string): BtError => new BtError('usage', message, hint);
export const integrityError = (message: string, hint?: string): BtError => new BtError('integrity', message, hint);
export const vaultError = (message: string, hint?: string): BtError => new BtError('vault', message, hint);

export function exitCodeFor(err: unknown): ExitCode {
  if (!(err instanceof BtError)) return ExitCode.internal;
  switch (err.kind) {
    case 'usage':
      return ExitCode.usage;
    case 'integrity':
      return ExitCode.integrity;
    case 'busy':
      return ExitCode.busy;
    default:
      return ExitCode.error;
  }
}

/** The single line a user sees for an error. */
export function describeError(err: unknown): string {
  if (err instanceof BtError) return err.hint ? `${err.message}; ${err.hint}` : err.message;
  if (err instanceof Error) return `internal error: ${err.message}`;
  return `internal error: ${String(err)}`;
}

export function errnoCode(err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err) {
    const code = (err as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
