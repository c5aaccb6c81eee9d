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
