/**
 * Binance's REQUEST_WEIGHT limiter: fixed one-minute windows per IP. Over the limit a request
 * gets 429 with Retry-After (seconds to the next window); a client that keeps sending in the same
 * window instead of backing off is banned with 418, for 2 minutes doubling per repeat up to 3 days
 * (rest-api/limits: "Repeatedly violating rate limits and/or failing to back off after receiving
 * 429s will result in an automated IP ban").
 */

export type WeightVerdict =
  | { readonly status: 200; readonly used: number }
  | { readonly status: 429; readonly used: number; readonly retryAfterSec: number }
  | { readonly status: 418; readonly used: number; readonly retryAfterSec: number; readonly bannedUntil: number };

interface IpState {
  windowStart: number;
  used: number;
  warned: boolean;
  bannedUntil: number;
  bans: number;
}

const MINUTE = 60_000;
const FIRST_BAN_MS = 2 * MINUTE;
const MAX_BAN_MS = 3 * 24 * 60 * MINUTE;

/**
 * Binance's REQUEST_WEIGHT accounting for the simulator's REST API (see above): `charge(ip, weight,
 * now)` adds a request's weight to the IP's current minute and answers 200 (with the weight used, for
 * X-MBX-USED-WEIGHT-1M), 429 with Retry-After seconds for the first request over `limitPerMinute`, or
 * 418 with the ban's end (epoch ms) for one that keeps sending.
 */
export class WeightLimiter {
  readonly limit: number;
  private readonly ips = new Map<string, IpState>();

  constructor(limitPerMinute: number) {
    this.limit = limitPerMinute;
  }

  charge(ip: string, weight: number, now = Date.now()): WeightVerdict {
    const windowStart = now - (now % MINUTE);
    let s = this.ips.get(ip);
    if (s === undefined) {
      s = { windowStart, used: 0, warned: false, bannedUntil: 0, bans: 0 };
      this.ips.set(ip, s);
    }
    if (s.windowStart !== windowStart) {
      s.windowStart = windowStart;
      s.used = 0;
      s.warned = false;
    }
    if (now < s.bannedUntil) return { status: 418, used: s.used, retryAfterSec: Math.ceil((s.bannedUntil - now) / 1_000), bannedUntil: s.bannedUntil };
    s.used += weight;
    if (s.used <= this.limit) return { status: 200, used: s.used };
    if (!s.warned) {
      s.warned = true;
      return { status: 429, used: s.used, retryAfterSec: Math.ceil((windowStart + MINUTE - now) / 1_000) };
    }
    s.bans += 1;
    s.bannedUntil = now + Math.min(MAX_BAN_MS, FIRST_BAN_MS * 2 ** (s.bans - 1));
    return { status: 418, used: s.used, retryAfterSec: Math.ceil((s.bannedUntil - now) / 1_000), bannedUntil: s.bannedUntil };
  }
}
