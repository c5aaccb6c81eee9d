/**
 * Binance kline intervals, the one table of interval lengths (Binance "Kline/Candlestick Streams":
 * 1s 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d 3d 1w 1M). Windows are UTC and aligned to the epoch,
 * except weeks (Monday 00:00 UTC) and months (calendar months), which have their own rules below.
 */
export const KLINE_INTERVALS = ['1s', '1m', '3m', '5m', '15m', '30m', '1h', '2h', '4h', '6h', '8h', '12h', '1d', '3d', '1w', '1M'] as const;
/** A Binance kline interval name (`1s` … `1M`). */
export type KlineInterval = (typeof KLINE_INTERVALS)[number];
/** Every interval except the calendar month: each has one length in ms. */
export type FixedInterval = Exclude<KlineInterval, '1M'>;

const SECOND = 1_000;
/** Length in ms of each fixed-length interval. */
export const KLINE_INTERVAL_MS: Readonly<Record<FixedInterval, number>> = {
  '1s': SECOND,
  '1m': 60 * SECOND,
  '3m': 180 * SECOND,
  '5m': 300 * SECOND,
  '15m': 900 * SECOND,
  '30m': 1_800 * SECOND,
  '1h': 3_600 * SECOND,
  '2h': 7_200 * SECOND,
  '4h': 14_400 * SECOND,
  '6h': 21_600 * SECOND,
  '8h': 28_800 * SECOND,
  '12h': 43_200 * SECOND,
  '1d': 86_400 * SECOND,
  '3d': 259_200 * SECOND,
  '1w': 604_800 * SECOND,
};

/**
 * The candle intervals tickflow's processor builds and serves (config `processor.candleIntervals`):
 * the ones whose windows start at multiples of their length since the epoch.
 */
export const CANDLE_INTERVALS = ['1m', '3m', '5m', '15m', '30m', '1h', '4h', '1d'] as const satisfies readonly FixedInterval[];
/** An interval the processor builds candles for (CANDLE_INTERVALS). */
export type CandleInterval = (typeof CANDLE_INTERVALS)[number];

/** Binance weeks start on Monday 00:00 UTC; the epoch was a Thursday. */
const WEEK_OFFSET = 4 * 86_400 * SECOND;

/** Whether `value` names a Binance kline interval (`1s` … `1M`, case-sensitive: `1M` is a month, `1m` a minute). */
export function isKlineInterval(value: string): value is KlineInterval {
  return (KLINE_INTERVALS as readonly string[]).includes(value);
}

/** Length in ms of a fixed-length interval (`1m` → 60 000); a RangeError for `1M` or a name Binance does not have. */
export function intervalMs(interval: string): number {
  if (!Object.hasOwn(KLINE_INTERVAL_MS, interval)) throw new RangeError(`unsupported candle interval ${interval}`);
  return KLINE_INTERVAL_MS[interval as FixedInterval];
}

/** Open time (epoch ms, UTC) of the kline of `interval` that holds `time` (epoch ms). */
export function klineOpenTime(interval: KlineInterval, time: number): number {
  if (interval === '1M') {
    const d = new Date(time);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  }
  const size = KLINE_INTERVAL_MS[interval];
  const offset = interval === '1w' ? WEEK_OFFSET : 0;
  return Math.floor((time - offset) / size) * size + offset;
}

/** Binance's close time of the kline opened at `openTime`: the last ms inside it (open + length − 1). */
export function klineCloseTime(interval: KlineInterval, openTime: number): number {
  if (interval === '1M') {
    const d = new Date(openTime);
    return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) - 1;
  }
  return openTime + KLINE_INTERVAL_MS[interval] - 1;
}
