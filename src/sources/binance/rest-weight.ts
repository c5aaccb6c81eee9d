import { ErrorCodes, TickflowError } from '../../core/errors.js';
import { sleep } from '../../core/retry.js';

const MINUTE = 60_000;

/**
 * Who is asking: `live` requests (a book snapshot the live feed waits for) may use the whole
 * safe budget; `background` work (healing, backfill) only its share, so it never takes the weight
 * that live ingestion needs.
 */
export type WeightPriority = 'live' | 'background';

/**
 * How much of Binance's REQUEST_WEIGHT budget (per minute per IP) this process uses, and how much of
 * that background work may take.
 */
export interface WeightBudgetOptions {
  /** REQUEST_WEIGHT per minute per IP (exchangeInfo `rateLimits`; spot 6000, USD-M 2400). */
  readonly limitPerMinute: number;
  /** Fraction of the limit this process lets itself use in one minute (stays clear of 429). */
  readonly safeFraction: number;
  /** Fraction of the safe budget background work may use. */
  readonly backgroundShare: number;
  /** Epoch ms; tests inject a clock. */
  readonly now?: () => number;
}

/** REQUEST_WEIGHT of the current minute as the budget knows it (X-MBX-USED-WEIGHT-1M), for /api/pipeline `heal.weight`. */
export interface WeightStatus {
  /** Weight used in the current minute, as the exchange last reported it or as reserved since. */
  readonly used: number;
  readonly limit: number;
  /** Epoch ms until which every request waits (Retry-After of a 429/418), 0 when none. */
  readonly pausedUntil: number;
}

/**
 * Binance's REQUEST_WEIGHT accounting on the client side (spot "LIMITS" › "IP Limits", USD-M
 * "General Info" › "Limits"): weight is counted per IP in calendar-minute windows, every response
 * carries `X-MBX-USED-WEIGHT-1M`, a client over the limit gets 429 with `Retry-After` and one that
 * keeps sending is banned with 418. The budget reserves a request's weight before it is sent and
 * waits for the next minute when the reservation would pass the safe budget, so it slows down
 * before the limit instead of discovering it; the header (which counts other processes on the
 * same IP too) only ever raises the count.
 */
export class WeightBudget {
  private windowStart = 0;
  private used = 0;
  private pausedUntil = 0;
  private readonly now: () => number;

  constructor(private readonly options: WeightBudgetOptions) {
    this.now = options.now ?? Date.now;
  }

  /** The most weight `priority` may use in one minute. */
  cap(priority: WeightPriority): number {
    const safe = Math.floor(this.options.limitPerMinute * this.options.safeFraction);
    return priority === 'live' ? safe : Math.floor(safe * this.options.backgroundShare);
  }

  /**
   * Waits until `weight` fits in the current minute for `priority`, then reserves it. Throws
   * TF_REST_REJECTED (canRetry false) for a weight no minute can hold; returns early, without
   * reserving, when `signal` aborts (the caller checks it).
   */
  async acquire(weight: number, priority: WeightPriority, signal?: AbortSignal): Promise<void> {
    const cap = this.cap(priority);
    if (weight > cap) {
      throw new TickflowError(ErrorCodes.REST_REJECTED, `a request of weight ${weight} can never fit the ${priority} budget of ${cap} per minute`);
    }
    while (signal?.aborted !== true) {
      const now = this.now();
      this.roll(now);
      if (now < this.pausedUntil) {
        await sleep(this.pausedUntil - now, signal);
        continue;
      }
      if (this.used + weight <= cap) {
        this.used += weight;
        return;
      }
      // Binance's window is the calendar minute; a little past it so clock skew does not land us in the old one.
      await sleep(this.windowStart + MINUTE - now + 50, signal);
    }
  }

  /** Takes the exchange's count from a response's X-MBX-USED-WEIGHT-1M (ignored when absent). */
  observe(usedWeight: number | undefined): void {
    if (usedWeight === undefined || !Number.isFinite(usedWeight)) return;
    this.roll(this.now());
    if (usedWeight > this.used) this.used = usedWeight;
  }

  /** Every request waits `seconds` (Retry-After of a 429 or 418). */
  pause(seconds: number): void {
    const until = this.now() + Math.max(1, seconds) * 1_000;
    if (until > this.pausedUntil) this.pausedUntil = until;
  }

  status(): WeightStatus {
    this.roll(this.now());
    return { used: this.used, limit: this.options.limitPerMinute, pausedUntil: this.pausedUntil > this.now() ? this.pausedUntil : 0 };
  }

  private roll(now: number): void {
    const start = now - (now % MINUTE);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
  }
}
