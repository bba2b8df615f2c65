// An S3 endpoint that takes connections and never answers (a frozen server, a proxy holding them) kept each
// request for the SDK's socket timeout times its attempts: minutes before a backup found the vault
// unavailable, and as long again for the lookup that confirms it. Until the endpoint has answered once in
// this process, requests wait on one short probe; a probe with no answer fails them all at once.
import type { BtError } from '../core/errors.js';
import { httpStatus } from './s3-errors.js';

/** How long the probe waits for any answer: far more than a HEAD takes on any reachable endpoint. */
export const PROBE_TIMEOUT_MS = 15_000;
/** A failed probe stands for this long; the next request after it probes again. */
export const PROBE_RETRY_MS = 30_000;

export interface FirstContactOptions {
  /** One small request (a HEAD of the bucket) aborted by `signal`. */
  readonly probe: (signal: AbortSignal) => Promise<unknown>;
  /** The probe's failure in the user's terms. */
  readonly describe: (err: unknown, timedOut: boolean) => BtError;
  readonly timeoutMs?: number;
  readonly retryMs?: number;
  readonly now?: () => number;
}

export class FirstContact {
  private answered = false;
  private probing: Promise<void> | undefined;
  private failure: { readonly error: BtError; readonly until: number } | undefined;

  constructor(private readonly opts: FirstContactOptions) {}

  /** Resolves once the endpoint has answered (any HTTP status counts); throws the probe's failure. */
  ready(): Promise<void> {
    if (this.answered) return Promise.resolve();
    const now = (this.opts.now ?? Date.now)();
    if (this.failure && now < this.failure.until) return Promise.reject(this.failure.error);
    this.probing ??= this.run().finally(() => {
      this.probing = undefined;
    });
    return this.probing;
  }

  private async run(): Promise<void> {
    const timeoutMs = this.opts.timeoutMs ?? PROBE_TIMEOUT_MS;
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    // The abort reaches the HTTP request; the race also ends a probe stuck before it (credentials being
    // resolved, a session being made), so no waiter waits longer than the timeout.
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        controller.abort();
        reject(Object.assign(new Error(`no answer in ${timeoutMs} ms`), { name: 'TimeoutError' }));
      }, timeoutMs);
    });
    try {
      await Promise.race([this.opts.probe(controller.signal), deadline]);
      this.answered = true;
    } catch (err) {
      // Refused, not found, moved: the server answered, and the request itself will say what it thinks.
      if (httpStatus(err) !== undefined) {
        this.answered = true;
        return;
      }
      const error = this.opts.describe(err, controller.signal.aborted);
      this.failure = { error, until: (this.opts.now ?? Date.now)() + (this.opts.retryMs ?? PROBE_RETRY_MS) };
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }
}
