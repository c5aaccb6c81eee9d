import { ErrorCodes, TickflowError } from '../core/errors.js';
import type { Instrument } from '../core/events.js';
import { add, compare, type Dec, divide, formatDecimal, isZero, parseDecimal, ZERO } from '../core/decimal.js';
import { CANDLE_INTERVALS, KLINE_INTERVAL_MS } from '../core/intervals.js';
import { AVERAGE_SCALE, type Indicators, indicatorsFor } from './moving-averages.js';
import { applyOpenClose, type TradeInput, tradeIdSpan, tradeIds } from './trade-input.js';
import type { Window, WindowKind } from './window-engine.js';

/** OHLCV state of one candle, exactly what Binance's kline carries. */
export interface CandleState {
  open: Dec;
  high: Dec;
  low: Dec;
  close: Dec;
  volume: Dec;
  quoteVolume: Dec;
  takerBuyVolume: Dec;
  takerBuyQuoteVolume: Dec;
  tradeCount: number;
  /** -1 for a candle without trades, as in Binance klines. */
  firstTradeId: number;
  lastTradeId: number;
  /** Set once the candle is final; partial rows compute them on the fly. */
  indicators: Indicators | undefined;
}

/** One `candles` row; decimals as strings, ready for NUMERIC columns. */
export interface CandleRow extends Instrument {
  readonly interval: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly open: string;
  readonly high: string;
  readonly low: string;
  readonly close: string;
  readonly volume: string;
  readonly quoteVolume: string;
  readonly tradeCount: number;
  readonly takerBuyVolume: string;
  readonly takerBuyQuoteVolume: string;
  readonly vwap: string | null;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
  readonly indicators: Indicators;
  readonly isFinal: boolean;
  readonly isComplete: boolean;
  readonly sourceOffset: bigint;
}

/** Length in ms of each candle interval the processor builds (lengths from core/intervals.ts). */
export const INTERVAL_MS: Readonly<Record<string, number>> = Object.fromEntries(CANDLE_INTERVALS.map((i) => [i, KLINE_INTERVAL_MS[i]]));

/** `1m` for 60 000 ms, `30s` for 30 000 ms: the `interval` column of the metrics tables. */
export function windowLabel(ms: number): string {
  const named = Object.entries(INTERVAL_MS).find(([, size]) => size === ms);
  if (named) return named[0];
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}

/** One candle interval (`1m`, …) and its moving averages (SMA and EMA lengths, in candles). */
export interface CandleOptions {
  readonly interval: string;
  readonly smaLengths: readonly number[];
  readonly emaLengths: readonly number[];
  /** Closed candles kept per symbol beyond what the indicators need (late corrections). */
  readonly retain: number;
}

/**
 * The window kind of `options.interval` candles: Binance kline fields folded exactly from trades
 * (open/close by trade id, high/low, base and quote volume, taker buy volumes, trade count, first and
 * last trade id), windows aligned to the epoch as Binance's klines are ("Kline/Candlestick Streams");
 * a minute without trades is filled with the previous close and -1 ids, as Binance's klines show it;
 * moving averages are set when a window is final. Keeps at least `retain`, the longest SMA and 2
 * closed windows per instrument.
 * @throws TickflowError TF_CONFIG_INVALID for an interval the processor does not build (CANDLE_INTERVALS).
 */
export function candleKind(options: CandleOptions): WindowKind<TradeInput, CandleState> & { readonly options: CandleOptions } {
  const sizeMs = INTERVAL_MS[options.interval];
  if (sizeMs === undefined) {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `unknown candle interval "${options.interval}" (expected one of ${Object.keys(INTERVAL_MS).join(', ')})`,
    );
  }
  return {
    name: `candles:${options.interval}`,
    sizeMs,
    retain: Math.max(options.retain, ...options.smaLengths, 2),
    options,
    create: (t) => ({
      open: t.price,
      high: t.price,
      low: t.price,
      close: t.price,
      volume: t.quantity,
      quoteVolume: t.notional,
      takerBuyVolume: t.takerBuy ? t.quantity : ZERO,
      takerBuyQuoteVolume: t.takerBuy ? t.notional : ZERO,
      tradeCount: t.trades,
      firstTradeId: t.firstTradeId,
      lastTradeId: t.lastTradeId,
      indicators: undefined,
    }),
    add: addTrade,
    ids: tradeIds,
    idSpan: tradeIdSpan,
    // Binance's kline for a minute without trades repeats the previous close with zero volume
    // (the freqtrade XRP/ETH files show the same); -1 trade ids, as in its klines.
    fill: (previous) => ({
      open: previous.close,
      high: previous.close,
      low: previous.close,
      close: previous.close,
      volume: ZERO,
      quoteVolume: ZERO,
      takerBuyVolume: ZERO,
      takerBuyQuoteVolume: ZERO,
      tradeCount: 0,
      firstTradeId: -1,
      lastTradeId: -1,
      indicators: undefined,
    }),
    finalize: (window, history) => {
      window.state.indicators = candleIndicators(window, history, options);
    },
  };
}

function addTrade(s: CandleState, t: TradeInput): void {
  if (s.tradeCount === 0) {
    // A filled (empty) candle corrected by a late trade: its placeholder prices are not trades.
    s.open = s.high = s.low = s.close = t.price;
    s.firstTradeId = t.firstTradeId;
    s.lastTradeId = t.lastTradeId;
  }
  applyOpenClose(s, t);
  if (compare(t.price, s.high) > 0) s.high = t.price;
  if (compare(t.price, s.low) < 0) s.low = t.price;
  s.volume = add(s.volume, t.quantity);
  s.quoteVolume = add(s.quoteVolume, t.notional);
  if (t.takerBuy) {
    s.takerBuyVolume = add(s.takerBuyVolume, t.quantity);
    s.takerBuyQuoteVolume = add(s.takerBuyQuoteVolume, t.notional);
  }
  s.tradeCount += t.trades;
}

function candleIndicators(window: Window<CandleState>, history: readonly Window<CandleState>[], options: CandleOptions): Indicators {
  const previous = history.at(-1);
  const adjacent = previous !== undefined && previous.start === window.start - (window.end - window.start);
  // Only an unbroken run of candles forms a moving average; after a hole the averages restart.
  let from = history.length;
  while (from > 0 && (history[from - 1] as Window<CandleState>).start === window.start - (history.length - from + 1) * (window.end - window.start)) from -= 1;
  const closes = history.slice(from).map((w) => w.state.close);
  return indicatorsFor(closes, window.state.close, adjacent ? previous.state.indicators : undefined, options.smaLengths, options.emaLengths);
}

/**
 * The `candles` row of a window: decimals as strings exactly (formatDecimal), times epoch ms
 * (windowEnd exclusive), VWAP = quote volume / volume at AVERAGE_SCALE digits (null without volume),
 * the moving averages (computed from `history` when the window is not final yet), is_final and
 * is_complete from the engine, and `sourceOffset` the highest bus offset folded in.
 */
export function candleRow(window: Window<CandleState>, history: readonly Window<CandleState>[], options: CandleOptions): CandleRow {
  const s = window.state;
  return {
    ...window.instrument,
    interval: options.interval,
    windowStart: window.start,
    windowEnd: window.end,
    open: formatDecimal(s.open),
    high: formatDecimal(s.high),
    low: formatDecimal(s.low),
    close: formatDecimal(s.close),
    volume: formatDecimal(s.volume),
    quoteVolume: formatDecimal(s.quoteVolume),
    tradeCount: s.tradeCount,
    takerBuyVolume: formatDecimal(s.takerBuyVolume),
    takerBuyQuoteVolume: formatDecimal(s.takerBuyQuoteVolume),
    vwap: isZero(s.volume) ? null : formatDecimal(divide(s.quoteVolume, s.volume, AVERAGE_SCALE)),
    firstTradeId: s.firstTradeId,
    lastTradeId: s.lastTradeId,
    indicators: s.indicators ?? candleIndicators(window, history, options),
    isFinal: window.final,
    isComplete: window.complete,
    sourceOffset: window.maxOffset,
  };
}

/** The state a stored final row stands for (restart: reload the recent past). */
export function candleStateFromRow(row: CandleRow): CandleState {
  return {
    open: parseDecimal(row.open),
    high: parseDecimal(row.high),
    low: parseDecimal(row.low),
    close: parseDecimal(row.close),
    volume: parseDecimal(row.volume),
    quoteVolume: parseDecimal(row.quoteVolume),
    takerBuyVolume: parseDecimal(row.takerBuyVolume),
    takerBuyQuoteVolume: parseDecimal(row.takerBuyQuoteVolume),
    tradeCount: row.tradeCount,
    firstTradeId: row.firstTradeId,
    lastTradeId: row.lastTradeId,
    indicators: row.indicators,
  };
}
