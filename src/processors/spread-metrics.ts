import { type BookTickerEvent, type Instrument, instrumentOf } from '../core/events.js';
import { add, compare, type Dec, decimalFromNumber, divide, formatDecimal, mul, parseDecimal, sub, toNumber } from '../core/decimal.js';
import { windowLabel } from './candles.js';
import { AVERAGE_SCALE } from './moving-averages.js';
import { windowTime } from './trade-input.js';
import type { Window, WindowKind } from './window-engine.js';

/** One top-of-book update with its decimals parsed. */
export interface QuoteInput {
  readonly instrument: Instrument;
  /** `E`; spot bookTicker has none, so the source stamps the ingestion time (events.ts). */
  readonly time: number;
  readonly spread: Dec;
  /** bid + ask, i.e. twice the mid: keeps the mid sum exact without halving every update. */
  readonly bidPlusAsk: Dec;
  readonly spreadBps: number;
}

/**
 * One bookTicker as the spread windows take it: spread = ask − bid and bid + ask exact (Dec), the
 * spread in bps of the mid (a float: a statistic), keyed by the event time `E` (epoch ms).
 * @throws TickflowError TF_DECODE when a price is not a decimal or the time cannot key a window.
 */
export function quoteInput(event: BookTickerEvent): QuoteInput {
  const bid = parseDecimal(event.bidPrice);
  const ask = parseDecimal(event.askPrice);
  const spread = sub(ask, bid);
  const bidPlusAsk = add(bid, ask);
  const mid = toNumber(bidPlusAsk) / 2;
  return {
    instrument: instrumentOf(event),
    time: windowTime(event.eventTime, 'eventTime'),
    spread,
    bidPlusAsk,
    spreadBps: mid > 0 ? (toNumber(spread) / mid) * 10_000 : 0,
  };
}

/**
 * A spread window's running state: the update count, the exact sum, minimum and maximum of the
 * spread, the exact sum of bid + ask, and the sum of the bps values.
 */
export interface SpreadState {
  updateCount: number;
  sumSpread: Dec;
  minSpread: Dec;
  maxSpread: Dec;
  sumBidPlusAsk: Dec;
  sumBps: number;
}

/**
 * One `spread_metrics` row: decimals as strings, times epoch ms (windowEnd exclusive), bps as floats,
 * the running sums it is restored from.
 */
export interface SpreadMetricsRow extends Instrument {
  /** The window length as a label (`1m`, `30s`). */
  readonly interval: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly avgSpread: string;
  readonly minSpread: string;
  readonly maxSpread: string;
  readonly avgSpreadBps: number;
  readonly avgMid: string;
  readonly updateCount: number;
  readonly sumSpread: string;
  readonly sumBidPlusAsk: string;
  readonly sumBps: number;
  readonly spreadWarning: boolean;
  readonly isFinal: boolean;
  readonly sourceOffset: bigint;
}

/** The spread window length (ms), its warning thresholds (bps, factor of the minimum spread), closed windows kept. */
export interface SpreadOptions {
  readonly windowMs: number;
  /** Warn when the average spread exceeds this multiple of the window's minimum; unset: never (see config.processor.spreadWarningFactor). */
  readonly warningFactor: number | undefined;
  readonly warningBps: number;
  readonly retain: number;
}

/**
 * The window kind of the spread metrics (`options.windowMs` windows, epoch-aligned): per window the
 * update count, the exact sum, minimum and maximum of the spread, the exact sum of bid + ask, and the
 * sum of the bps values; keeps `retain` closed windows per instrument.
 */
export function spreadKind(options: SpreadOptions): WindowKind<QuoteInput, SpreadState> {
  return {
    name: 'spread_metrics',
    sizeMs: options.windowMs,
    retain: options.retain,
    create: (q) => ({ updateCount: 1, sumSpread: q.spread, minSpread: q.spread, maxSpread: q.spread, sumBidPlusAsk: q.bidPlusAsk, sumBps: q.spreadBps }),
    add: (s, q) => {
      s.updateCount += 1;
      s.sumSpread = add(s.sumSpread, q.spread);
      if (compare(q.spread, s.minSpread) < 0) s.minSpread = q.spread;
      if (compare(q.spread, s.maxSpread) > 0) s.maxSpread = q.spread;
      s.sumBidPlusAsk = add(s.sumBidPlusAsk, q.bidPlusAsk);
      s.sumBps += q.spreadBps;
    },
  };
}

/**
 * The `spread_metrics` row of a window: average, minimum and maximum spread and the average mid as
 * decimal strings (averages at AVERAGE_SCALE digits), the average in bps (float), the running sums
 * the window is restored from, and `spreadWarning` — the average above `warningBps`, or above
 * `warningFactor` × the window's minimum spread (decided exactly, in decimals), when that is set.
 */
export function spreadRow(window: Window<SpreadState>, options: SpreadOptions): SpreadMetricsRow {
  const s = window.state;
  const n: Dec = { value: BigInt(s.updateCount), scale: 0 };
  const avgBps = s.sumBps / s.updateCount;
  // avg > factor × min  ⇔  sum > factor × min × n, exact.
  const wide = options.warningFactor !== undefined && compare(s.sumSpread, mul(mul(decimalFromNumber(options.warningFactor), s.minSpread), n)) > 0;
  return {
    ...window.instrument,
    interval: windowLabel(window.end - window.start),
    windowStart: window.start,
    windowEnd: window.end,
    avgSpread: formatDecimal(divide(s.sumSpread, n, AVERAGE_SCALE)),
    minSpread: formatDecimal(s.minSpread),
    maxSpread: formatDecimal(s.maxSpread),
    avgSpreadBps: avgBps,
    avgMid: formatDecimal(divide(s.sumBidPlusAsk, mul(n, { value: 2n, scale: 0 }), AVERAGE_SCALE)),
    updateCount: s.updateCount,
    sumSpread: formatDecimal(s.sumSpread),
    sumBidPlusAsk: formatDecimal(s.sumBidPlusAsk),
    sumBps: s.sumBps,
    spreadWarning: wide || avgBps > options.warningBps,
    isFinal: window.final,
    sourceOffset: window.maxOffset,
  };
}

/**
 * The window state a stored final `spread_metrics` row stands for, from its running sums (restart:
 * reload the recent past). @throws TickflowError TF_DECODE for a sum that is not a decimal.
 */
export function spreadStateFromRow(row: SpreadMetricsRow): SpreadState {
  return {
    updateCount: row.updateCount,
    sumSpread: parseDecimal(row.sumSpread),
    minSpread: parseDecimal(row.minSpread),
    maxSpread: parseDecimal(row.maxSpread),
    sumBidPlusAsk: parseDecimal(row.sumBidPlusAsk),
    sumBps: row.sumBps,
  };
}
