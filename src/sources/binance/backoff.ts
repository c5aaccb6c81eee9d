/**
 * Reconnect pacing. Capped exponential backoff with full jitter (AWS Architecture Blog, "Exponential
 * Backoff And Jitter"): spreads the reconnects of many clients after an exchange-wide disconnect.
 */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly initialMs: number,
    private readonly maxMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** The delay before the next attempt: uniform in [0, min(max, initial * 2^attempt)]. */
  next(): number {
    const cap = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30));
    this.attempt++;
    return Math.floor(this.random() * cap);
  }

  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}

/**
 * Sliding-window limit on connection attempts, shared by every connection of a source because
 * Binance counts them per IP: 300 connection attempts per 5 minutes ("WebSocket Limits").
 */
export class AttemptLimiter {
  private readonly times: number[] = [];

  constructor(
    private readonly limit = 300,
    private readonly windowMs = 300_000,
  ) {}

  /**
   * Milliseconds to wait before an attempt is allowed at `now` (monotonic ms). Returns 0 and
   * records the attempt when it is allowed now.
   */
  take(now: number): number {
    while (this.times.length > 0 && now - this.times[0]! >= this.windowMs) this.times.shift();
    if (this.times.length >= this.limit) return this.times[0]! + this.windowMs - now;
    this.times.push(now);
    return 0;
  }
}
