import { Backoff } from '../sources/binance/backoff.js';
import { TickflowError } from './errors.js';

export interface RetryOptions {
  /** Attempts in total, the first one included (≥ 1). */
  readonly attempts: number;
  /** First backoff cap in ms; doubles per attempt up to `maxDelayMs` (full jitter). */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly signal?: AbortSignal;
  /** Called before each wait: the error, the attempt that failed (1-based), the delay in ms. */
  readonly onRetry?: (err: TickflowError, attempt: number, delayMs: number) => void;
}

/**
 * Runs `fn` until it succeeds, retrying only errors that say a retry can help (`TickflowError`
 * with `canRetry`), with capped exponential backoff and full jitter. Anything else — and the
 * last retryable error once `attempts` are used — is thrown to the caller unchanged, so escalation
 * is the caller's decision. An abort ends the wait; the next attempt sees the aborted signal.
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options.initialDelayMs, options.maxDelayMs);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!(err instanceof TickflowError) || !err.canRetry || attempt >= options.attempts || options.signal?.aborted === true) throw err;
      const delay = backoff.next();
      options.onRetry?.(err, attempt, delay);
      await sleep(delay, options.signal);
    }
  }
}

/** Resolves after `ms`, or at once when `signal` aborts (never rejects). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true || ms <= 0) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
