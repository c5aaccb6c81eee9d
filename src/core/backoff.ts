/**
 * Retry and reconnect pacing: capped exponential backoff with full jitter (AWS Architecture Blog,
 * "Exponential Backoff And Jitter"), which spreads the retries of many clients after a shared
 * outage (an exchange-wide disconnect, a broker restart) instead of having them knock in step.
 */
export class Backoff {
  private attempt = 0;

  /**
   * @param initialMs the first delay's cap in ms; the cap doubles per attempt
   * @param maxMs the largest cap in ms
   * @param random uniform in [0, 1); injected by tests for reproducible delays
   */
  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay in ms before the next attempt: uniform in [0, min(max, initial * 2^attempt)]. */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * cap);
  }

  /** Starts over from the initial cap (after a connection stayed healthy long enough). */
  reset(): void {
    this.attempt = 0;
  }

  /** Delays handed out since the last reset. */
  get attempts(): number {
    return this.attempt;
  }
}
