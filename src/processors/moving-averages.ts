import { add, type Dec, divide, formatDecimal, mul, parseDecimal, ZERO } from '../core/decimal.js';

/** Digits after the point of averages (VWAP, SMA, EMA): fixed so a replay prints the same digits. */
export const AVERAGE_SCALE = 12;

/** Simple moving average of the last `length` closes (oldest first); null until there are enough. */
export function sma(closes: readonly Dec[], length: number): Dec | null {
  if (closes.length < length) return null;
  let sum = ZERO;
  for (let i = closes.length - length; i < closes.length; i += 1) sum = add(sum, closes[i] as Dec);
  return divide(sum, { value: BigInt(length), scale: 0 }, AVERAGE_SCALE);
}

/**
 * Next exponential moving average, α = 2/(length+1), rounded to AVERAGE_SCALE at every step (so
 * the value stored for a candle is exactly the value the next one continues from after a restart).
 * The first value is seeded with the first close, as pandas `ewm(adjust=False)` does.
 */
export function emaNext(previous: Dec | null, close: Dec, length: number): Dec {
  if (previous === null) return divide(close, { value: 1n, scale: 0 }, AVERAGE_SCALE);
  const weighted = add(mul({ value: 2n, scale: 0 }, close), mul({ value: BigInt(length - 1), scale: 0 }, previous));
  return divide(weighted, { value: BigInt(length + 1), scale: 0 }, AVERAGE_SCALE);
}

/** Indicator values as stored in the candles `indicators` JSONB column: {"sma20": "…", "ema12": "…"}. */
export type Indicators = Record<string, string | null>;

/**
 * The moving averages of a candle closing at `close` after `closes` (the unbroken run of earlier
 * closes, oldest first): `sma<n>` for each of smaLengths (null until n closes exist) and `ema<n>` for
 * each of emaLengths, continued from `previousEma` (the previous candle's stored values) or seeded
 * with this close. Values are decimal strings at AVERAGE_SCALE digits, as stored in candles.indicators.
 */
export function indicatorsFor(
  closes: readonly Dec[],
  close: Dec,
  previousEma: Indicators | undefined,
  smaLengths: readonly number[],
  emaLengths: readonly number[],
): Indicators {
  const all = [...closes, close];
  const out: Indicators = {};
  for (const n of smaLengths) {
    const v = sma(all, n);
    out[`sma${n}`] = v === null ? null : formatDecimal(v);
  }
  for (const n of emaLengths) {
    const prev = previousEma?.[`ema${n}`];
    out[`ema${n}`] = formatDecimal(emaNext(prev == null ? null : parseDecimal(prev), close, n));
  }
  return out;
}
