import { monotonicMs } from './clock.js';
import { sleep } from './retry.js';

/** `closed`: calls go through; `open`: calls wait out the cool-down; `halfOpen`: one probe call is let through. */
export type BreakerState = 'closed' | 'open' | 'halfOpen';

/** The gauge value of each state (0 closed, 1 half-open, 2 open): higher is worse. */
export const BREAKER_GAUGE: Readonly<Record<BreakerState, number>> = { closed: 0, halfOpen: 1, open: 2 };

/**
 * When a CircuitBreaker opens (consecutive failures), how long it stays open (ms), and who hears its
 * state changes.
 */
export interface BreakerOptions {
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** Time an open breaker waits before letting one probe through, ms. */
  readonly cooldownMs: number;
  readonly onChange?: (state: BreakerState) => void;
}

/**
 * A circuit breaker for one caller that makes its calls one at a time (a sink's send loop): after
 * `failureThreshold` consecutive failures it opens, so an endpoint that is down is not hammered;
 * after `cooldownMs` the next call is a half-open probe — its success closes the breaker, its
 * failure opens it for another cool-down.
 */
export class CircuitBreaker {
  private current: BreakerState = 'closed';
  private failures = 0;
  private openedAt = 0;

  constructor(private readonly options: BreakerOptions) {}

  get state(): BreakerState {
    return this.current;
  }

  /** Consecutive failures so far (0 after a success). */
  get consecutiveFailures(): number {
    return this.failures;
  }

  /**
   * Resolves when a call may be made: at once when closed or half-open; when open, after the rest
   * of the cool-down (then half-open). Returns false when `signal` aborted the wait while open.
   */
  async admit(signal?: AbortSignal): Promise<boolean> {
    if (this.current !== 'open') return true;
    await sleep(this.openedAt + this.options.cooldownMs - monotonicMs(), signal);
    if (signal?.aborted === true) return false;
    this.set('halfOpen');
    return true;
  }

  success(): void {
    this.failures = 0;
    this.set('closed');
  }

  failure(): void {
    this.failures++;
    if (this.current === 'halfOpen' || this.failures >= this.options.failureThreshold) {
      this.openedAt = monotonicMs();
      this.set('open');
    }
  }

  private set(state: BreakerState): void {
    if (state === this.current) return;
    this.current = state;
    this.options.onChange?.(state);
  }
}
