import type { Instrument } from '../core/events.js';
import { add, compare, type Dec, decimalFromNumber, divide, formatDecimal, isZero, mul, parseDecimal, sub, toNumber, ZERO } from '../core/decimal.js';
import { windowLabel } from './candles.js';
import { AVERAGE_SCALE } from './moving-averages.js';
import { applyOpenClose, type TradeInput, tradeIdSpan, tradeIds } from './trade-input.js';
import type { Window, WindowKind } from './window-engine.js';

/**
 * A trade-metrics window's running state: exact volumes, open/close by trade id, the largest trade,
 * Welford's mean and M2 of the prices.
 */
export interface TradeMetricsState {
  tradeCount: number;
  volume: Dec;
  quoteVolume: Dec;
  buyVolume: Dec;
  sellVolume: Dec;
  open: Dec;
  close: Dec;
  firstTradeId: number;
  lastTradeId: number;
  largestQty: Dec;
  largestNotional: Dec;
  /** Welford running mean and M2 of trade prices: stddev is a float statistic by nature. */
  samples: number;
  priceMean: number;
  priceM2: number;
}

/**
 * One `trade_metrics` row: decimals as strings, times epoch ms (windowEnd exclusive), flags, and the
 * running statistics it is restored from.
 */
export interface TradeMetricsRow extends Instrument {
  /** The window length as a label (`1m`, `30s`). */
  readonly interval: string;
  readonly windowStart: number;
  readonly windowEnd: number;
  readonly vwap: string | null;
  readonly priceStddev: number;
  readonly tradeCount: number;
  readonly volume: string;
  readonly quoteVolume: string;
  readonly buyVolume: string;
  readonly sellVolume: string;
  /** buy volume / sell volume; null when nothing was sold. */
  readonly buySellRatio: string | null;
  readonly largestTradeQty: string;
  readonly largestTradeNotional: string;
  readonly open: string;
  readonly close: string;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
  readonly samples: number;
  readonly priceMean: number;
  readonly priceM2: number;
  readonly volatilityAlert: boolean;
  /**
   * Mean volume of the baseline windows the volume-spike flag compares with (decimal string); null
   * without any. Not stored: it is what the signal stream's volume-spike ratio is made from.
   */
  readonly volumeBaseline: string | null;
  readonly volumeSpike: boolean;
  readonly priceMove: boolean;
  readonly isFinal: boolean;
  readonly sourceOffset: bigint;
}

/**
 * The trade-metrics window length (ms), the flag thresholds (volatility ratio, volume spike factor
 * over a lookback of windows, price move %), windows kept.
 */
export interface TradeMetricsOptions {
  readonly windowMs: number;
  readonly volatilityRatio: number;
  readonly volumeSpikeFactor: number;
  readonly volumeSpikeLookback: number;
  readonly priceMovePct: number;
  readonly retain: number;
}

/**
 * The window kind of the trade metrics (`options.windowMs` windows, epoch-aligned): per window exact
 * volumes (base, quote, taker buy and sell), open/close by trade id, the largest trade, the trade count
 * and a running mean and M2 of the prices (Welford) for the standard deviation; ids decide
 * completeness as for candles. Keeps `retain` closed windows, at least volumeSpikeLookback.
 */
export function tradeMetricsKind(options: TradeMetricsOptions): WindowKind<TradeInput, TradeMetricsState> {
  return {
    name: 'trade_metrics',
    sizeMs: options.windowMs,
    retain: Math.max(options.retain, options.volumeSpikeLookback),
    create: (t) => {
      const s: TradeMetricsState = {
        tradeCount: 0,
        volume: ZERO,
        quoteVolume: ZERO,
        buyVolume: ZERO,
        sellVolume: ZERO,
        open: t.price,
        close: t.price,
        firstTradeId: t.firstTradeId,
        lastTradeId: t.lastTradeId,
        largestQty: ZERO,
        largestNotional: ZERO,
        samples: 0,
        priceMean: 0,
        priceM2: 0,
      };
      addTrade(s, t);
      return s;
    },
    add: addTrade,
    ids: tradeIds,
    idSpan: tradeIdSpan,
  };
}

function addTrade(s: TradeMetricsState, t: TradeInput): void {
  s.tradeCount += t.trades;
  s.volume = add(s.volume, t.quantity);
  s.quoteVolume = add(s.quoteVolume, t.notional);
  if (t.takerBuy) s.buyVolume = add(s.buyVolume, t.quantity);
  else s.sellVolume = add(s.sellVolume, t.quantity);
  applyOpenClose(s, t);
  if (compare(t.notional, s.largestNotional) > 0) {
    s.largestNotional = t.notional;
    s.largestQty = t.quantity;
  }
  const price = toNumber(t.price);
  s.samples += 1;
  const delta = price - s.priceMean;
  s.priceMean += delta / s.samples;
  s.priceM2 += delta * (price - s.priceMean);
}

/**
 * The row of a window. `history` holds the symbol's earlier final windows: the volume-spike
 * baseline is the mean volume of those among the previous `lookback` windows (windows without
 * trades have no row and do not count), so after a restart, with the same rows reloaded, the
 * flags come out identical.
 */
export function tradeMetricsRow(
  window: Window<TradeMetricsState>,
  history: readonly Window<TradeMetricsState>[],
  options: TradeMetricsOptions,
): TradeMetricsRow {
  const s = window.state;
  const vwap = isZero(s.volume) ? null : divide(s.quoteVolume, s.volume, AVERAGE_SCALE);
  const stddev = s.samples > 0 ? Math.sqrt(s.priceM2 / s.samples) : 0;
  const from = window.start - options.volumeSpikeLookback * options.windowMs;
  const baseline = history.filter((w) => w.start >= from && w.start < window.start);
  let baselineSum = ZERO;
  for (const w of baseline) baselineSum = add(baselineSum, w.state.volume);
  // volume > factor × (sum / n)  ⇔  volume × n > factor × sum, kept exact.
  const volumeSpike =
    baseline.length > 0 &&
    compare(mul(s.volume, { value: BigInt(baseline.length), scale: 0 }), mul(decimalFromNumber(options.volumeSpikeFactor), baselineSum)) > 0;
  // |close/open − 1| × 100 > pct  ⇔  |close − open| × 100 > pct × open (prices are positive).
  const move = sub(s.close, s.open);
  const absMove = move.value < 0n ? { value: -move.value, scale: move.scale } : move;
  const priceMove = compare(mul(absMove, { value: 100n, scale: 0 }), mul(decimalFromNumber(options.priceMovePct), s.open)) > 0;
  return {
    ...window.instrument,
    interval: windowLabel(window.end - window.start),
    windowStart: window.start,
    windowEnd: window.end,
    vwap: vwap === null ? null : formatDecimal(vwap),
    priceStddev: stddev,
    tradeCount: s.tradeCount,
    volume: formatDecimal(s.volume),
    quoteVolume: formatDecimal(s.quoteVolume),
    buyVolume: formatDecimal(s.buyVolume),
    sellVolume: formatDecimal(s.sellVolume),
    buySellRatio: isZero(s.sellVolume) ? null : formatDecimal(divide(s.buyVolume, s.sellVolume, AVERAGE_SCALE)),
    largestTradeQty: formatDecimal(s.largestQty),
    largestTradeNotional: formatDecimal(s.largestNotional),
    open: formatDecimal(s.open),
    close: formatDecimal(s.close),
    firstTradeId: s.firstTradeId,
    lastTradeId: s.lastTradeId,
    samples: s.samples,
    priceMean: s.priceMean,
    priceM2: s.priceM2,
    volatilityAlert: vwap !== null && stddev / toNumber(vwap) > options.volatilityRatio,
    volumeBaseline: baseline.length > 0 ? formatDecimal(divide(baselineSum, { value: BigInt(baseline.length), scale: 0 }, AVERAGE_SCALE)) : null,
    volumeSpike,
    priceMove,
    isFinal: window.final,
    sourceOffset: window.maxOffset,
  };
}

/**
 * The window state a stored final `trade_metrics` row stands for, from its columns and running
 * statistics (restart: reload the recent past). @throws TickflowError TF_DECODE for a column that is
 * not a decimal.
 */
export function tradeMetricsStateFromRow(row: TradeMetricsRow): TradeMetricsState {
  return {
    tradeCount: row.tradeCount,
    volume: parseDecimal(row.volume),
    quoteVolume: parseDecimal(row.quoteVolume),
    buyVolume: parseDecimal(row.buyVolume),
    sellVolume: parseDecimal(row.sellVolume),
    open: parseDecimal(row.open),
    close: parseDecimal(row.close),
    firstTradeId: row.firstTradeId,
    lastTradeId: row.lastTradeId,
    largestQty: parseDecimal(row.largestTradeQty),
    largestNotional: parseDecimal(row.largestTradeNotional),
    samples: row.samples,
    priceMean: row.priceMean,
    priceM2: row.priceM2,
  };
}
