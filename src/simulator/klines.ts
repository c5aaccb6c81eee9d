import { formatUnits, parseUnits } from '../core/decimal.js';
import { type KlineInterval, klineCloseTime, klineOpenTime } from '../core/intervals.js';
import type { SimTrade } from './market.js';

/** Decimals printed in a kline's price, quantity and quote fields (Binance prints 8 on spot). */
export interface KlineDecimals {
  readonly price: number;
  readonly qty: number;
  readonly quote: number;
}

const SCALE = 8;

/** A trade as kline sums need it: price and qty in units of 10^-8, quote (price × qty) in 10^-16. */
export interface TradeUnits {
  readonly id: number;
  readonly price: bigint;
  readonly qty: bigint;
  readonly quote: bigint;
  readonly buyerIsMaker: boolean;
}

/**
 * A simulated trade's price and quantity as integers of 10^-8 and the quote (price × qty) of 10^-16,
 * so kline sums are exact (parseUnits: decimals beyond 8 are cut; the simulator prints at most 8).
 */
export function tradeUnits(trade: SimTrade): TradeUnits {
  const price = parseUnits(trade.price, SCALE);
  const qty = parseUnits(trade.qty, SCALE);
  return { id: trade.id, price, qty, quote: price * qty, buyerIsMaker: trade.buyerIsMaker };
}

/**
 * One candle built from trades exactly as Binance does: OHLC from trade prices, base/quote volume
 * and taker-buy volumes as exact sums, first/last trade id, count. A candle without trades carries
 * the previous close as OHLC and -1 trade ids.
 */
export class KlineBuilder {
  readonly interval: KlineInterval;
  readonly openTime: number;
  readonly closeTime: number;
  private open: bigint | null;
  private high: bigint | null;
  private low: bigint | null;
  private close: bigint | null;
  private volume = 0n;
  private quoteVolume = 0n;
  private takerBuyVolume = 0n;
  private takerBuyQuote = 0n;
  private firstId = -1;
  private lastId = -1;
  private count = 0;

  constructor(interval: KlineInterval, openTime: number, previousClose: bigint | null) {
    this.interval = interval;
    this.openTime = openTime;
    this.closeTime = klineCloseTime(interval, openTime);
    this.open = this.high = this.low = this.close = previousClose;
  }

  get lastPrice(): bigint | null {
    return this.close;
  }

  add(trade: SimTrade): void {
    this.addUnits(tradeUnits(trade));
  }

  /** Adds a trade already in units (the generator parses a trade once for all sixteen intervals). */
  addUnits(t: TradeUnits): void {
    if (this.count === 0) {
      this.open = this.high = this.low = t.price;
      this.firstId = t.id;
    }
    if (this.high === null || t.price > this.high) this.high = t.price;
    if (this.low === null || t.price < this.low) this.low = t.price;
    this.close = t.price;
    this.lastId = t.id;
    this.count += 1;
    this.volume += t.qty;
    this.quoteVolume += t.quote;
    if (!t.buyerIsMaker) {
      this.takerBuyVolume += t.qty;
      this.takerBuyQuote += t.quote;
    }
  }

  /** The `k` object of a kline stream event. */
  wsKline(symbol: string, closed: boolean, d: KlineDecimals): Record<string, unknown> {
    const v = this.values(d);
    return {
      t: this.openTime,
      T: this.closeTime,
      s: symbol,
      i: this.interval,
      f: this.firstId,
      L: this.lastId,
      o: v.open,
      c: v.close,
      h: v.high,
      l: v.low,
      v: v.volume,
      n: this.count,
      x: closed,
      q: v.quote,
      V: v.takerBuyVolume,
      Q: v.takerBuyQuote,
      B: '0',
    };
  }

  /** A row of GET /api/v3/klines. */
  restRow(d: KlineDecimals): (number | string)[] {
    const v = this.values(d);
    return [this.openTime, v.open, v.high, v.low, v.close, v.volume, this.closeTime, v.quote, this.count, v.takerBuyVolume, v.takerBuyQuote, '0'];
  }

  private values(d: KlineDecimals) {
    const price = (x: bigint | null) => formatUnits(x ?? 0n, SCALE, d.price);
    return {
      open: price(this.open),
      high: price(this.high),
      low: price(this.low),
      close: price(this.close),
      volume: formatUnits(this.volume, SCALE, d.qty),
      quote: formatUnits(this.quoteVolume, 2 * SCALE, d.quote),
      takerBuyVolume: formatUnits(this.takerBuyVolume, SCALE, d.qty),
      takerBuyQuote: formatUnits(this.takerBuyQuote, 2 * SCALE, d.quote),
    };
  }
}

/**
 * Which candles without trades a request can return: open times in [from, to], at most `max` per
 * stretch without trades — the first ones (`keep: 'first'`, a request with startTime pages forward)
 * or the last ones (`'last'`, the latest candles). Bounds the work one trade with an absurd time
 * (0 among today's) causes: no filling from 1970.
 */
export interface EmptyCandles {
  readonly from: number;
  readonly to: number;
  readonly max: number;
  readonly keep: 'first' | 'last';
}

const ALL_EMPTY: EmptyCandles = { from: -Infinity, to: Infinity, max: Infinity, keep: 'first' };

/** Candles of one interval from trades in time order (for GET /api/v3/klines). */
export function buildKlines(interval: KlineInterval, trades: Iterable<SimTrade>, empty: EmptyCandles = ALL_EMPTY): KlineBuilder[] {
  const out: KlineBuilder[] = [];
  for (const trade of trades) {
    let current = out[out.length - 1];
    if (current === undefined || trade.time > current.closeTime) {
      const openTime = klineOpenTime(interval, trade.time);
      // Binance lists intervals without trades too, carrying the previous close.
      if (current !== undefined) {
        for (const t of emptyOpenTimes(interval, current.closeTime + 1, openTime, empty)) out.push(new KlineBuilder(interval, t, current.lastPrice));
      }
      current = new KlineBuilder(interval, openTime, current?.lastPrice ?? null);
      out.push(current);
    }
    current.add(trade);
  }
  return out;
}

/** Open times of the candles between `first` (an open time) and `next` (excluded) that `empty` lets through. */
function emptyOpenTimes(interval: KlineInterval, first: number, next: number, empty: EmptyCandles): number[] {
  const times: number[] = [];
  if (empty.keep === 'first') {
    // `first` is an open time, so the open time of a later `from` is never before it.
    let t = Number.isFinite(empty.from) && empty.from > first ? klineOpenTime(interval, empty.from) : first;
    for (; t < next && t <= empty.to && times.length < empty.max; t = klineCloseTime(interval, t) + 1) times.push(t);
    return times;
  }
  for (let t = klineOpenTime(interval, Math.min(next, empty.to + 1) - 1); t >= first && times.length < empty.max; t = klineOpenTime(interval, t - 1)) {
    if (t < next && t >= empty.from) times.push(t);
    else if (t < empty.from) break;
  }
  return times.reverse();
}
