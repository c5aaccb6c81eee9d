import { TickMarkType, type Time, type UTCTimestamp } from 'lightweight-charts';

/**
 * How many decimals a symbol's prices and quantities carry: from its exchangeInfo tick size
 * (PRICE_FILTER) and lot step (LOT_SIZE) when /api/symbols knows them, otherwise from the values
 * seen (a replay has no exchangeInfo). Every number is formatted from its exact decimal string,
 * never through a float, so a column of them lines up digit by digit.
 */
export interface Precision {
  readonly price: number;
  readonly quantity: number;
  /** The tick size as a number, for derived figures (one tick in bps); null when unknown. */
  readonly tick: number | null;
}

/** Significant fraction digits: "0.01000000" → 2, "1.00000000" → 0, "0.00275" → 5. */
export function decimalsOf(decimal: string): number {
  return decimal.split('.')[1]?.replace(/0+$/, '').length ?? 0;
}

/**
 * The decimals of a step size; when it is unknown, those of the finest value seen, at least
 * `atLeast` (round prices such as 61000.00 say nothing about the tick) and at most 8.
 */
export function stepDecimals(step: string | undefined, seen: readonly string[], atLeast = 0): number {
  if (step !== undefined) return decimalsOf(step);
  return Math.min(
    8,
    seen.reduce((d, v) => Math.max(d, decimalsOf(v)), atLeast),
  );
}

/**
 * `decimal` with exactly `decimals` fraction digits: trailing zeros trimmed or padded. A value with
 * more significant digits than that (off the symbol's grid) keeps them: nothing is ever rounded away.
 */
export function fixed(decimal: string, decimals: number): string {
  const [whole = '0', fraction = ''] = decimal.split('.');
  const significant = fraction.replace(/0+$/, '');
  const digits = significant.length > decimals ? significant : significant.padEnd(decimals, '0');
  return digits.length > 0 ? `${whole}.${digits}` : whole;
}

/**
 * Decimals that show a spread in basis points to its smallest step, one price tick: BTCUSDT's tick
 * of 0.01 at 61 000 is 0.0016 bps, which two decimals would print as 0.00.
 */
export function bpsDecimals(tick: number | null, price: number): number {
  if (tick === null || !(tick > 0) || !(price > 0)) return 2;
  const oneTick = (tick / price) * 10_000;
  return Math.min(6, Math.max(2, Math.ceil(-Math.log10(oneTick)) + 1));
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const two = (n: number) => String(n).padStart(2, '0');

/**
 * Time-axis labels in UTC (the times of the data): a day boundary reads `Aug 9`, not `9`; a tick
 * between minutes reads `05:39:12`, so second-spaced points do not repeat `05:39`.
 */
export function formatTick(time: Time, type: TickMarkType): string {
  const d = new Date((time as UTCTimestamp) * 1000);
  switch (type) {
    case TickMarkType.Year:
      return String(d.getUTCFullYear());
    case TickMarkType.Month:
      return `${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()}`;
    case TickMarkType.DayOfMonth:
      return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
    case TickMarkType.Time:
      return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}`;
    case TickMarkType.TimeWithSeconds:
      return `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  }
}
