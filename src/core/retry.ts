import { Backoff } from './backoff.js';
import { TickflowError } from './errors.js';

/**
 * The one retry policy: an error is retried only when it says a retry can help (`canRetry`),
 * with capped exponential backoff and full jitter (core/backoff.ts). Everything else ends the
 * loop at once and goes back to the caller, whose job is to escalate (halt, health down, dead
 * letter) rather than knock on a door that will stay shut.
 */
export interface RetryPolicy {
  /** First backoff cap in ms; doubles per attempt up to `maxDelayMs` (full jitter). */
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  /**
   * Attempts in total, the first one included (≥ 1). Omitted: no limit, so only a non-retryable
   * error or `signal` ends the loop (for work that must not be dropped, e.g. a batch whose offsets
   * wait for it).
   */
  readonly attempts?: number;
}

/** How `retry` runs: the policy (attempts and delays, ms), an abort signal, a hook before each wait, the jitter source. */
export interface RetryOptions extends RetryPolicy {
  /** Aborting ends the current wait; a failure after the abort is thrown instead of retried. */
  readonly signal?: AbortSignal;
  /** Called before each wait: the error, the attempt that failed (1-based), the delay in ms. */
  readonly onRetry?: (err: TickflowError, attempt: number, delayMs: number) => void;
  /** Uniform in [0, 1); tests inject it for reproducible delays. */
  readonly random?: () => number;
}

/** True for an error that says trying the same operation again can succeed: a `TickflowError` with `canRetry`. */
export function canRetry(err: unknown): err is TickflowError {
  return err instanceof TickflowError && err.canRetry;
}

/**
 * Runs `fn` until it succeeds under `options` (see RetryPolicy). A non-retryable error, the last
 * retryable one once `attempts` are used, and any failure after `signal` aborted are thrown to the
 * caller unchanged. `fn` receives the attempt number (1-based).
 */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  const backoff = new Backoff(options.initialDelayMs, options.maxDelayMs, options.random);
  const attempts = options.attempts ?? Infinity;
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn(attempt);
    } catch (err) {
      if (!canRetry(err) || attempt >= attempts || options.signal?.aborted === true) throw err;
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
