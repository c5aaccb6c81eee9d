/**
 * Exact decimal strings <-> scaled bigints. Binance prints prices and quantities with a fixed
 * number of decimals (8 on spot); sums such as kline volumes must stay exact, so they never pass
 * through floats.
 */

/**
 * `units` scaled by 10^scale, printed with exactly `decimals` decimals (decimals >= scale pads,
 * fewer truncates). A number must be a safe integer (prices in ticks, sizes in lot steps): it is
 * printed from its digits like a bigint, only without the bigint arithmetic.
 */
export function formatUnits(units: bigint | number, scale: number, decimals: number): string {
  const negative = units < 0;
  let digits = (negative ? -units : units).toString();
  if (decimals < scale) {
    const cut = scale - decimals;
    digits = digits.length > cut ? digits.slice(0, digits.length - cut) : '0';
  }
  digits = digits.padStart(Math.min(scale, decimals) + 1, '0');
  const cut = digits.length - Math.min(scale, decimals);
  const frac = digits.slice(cut).padEnd(decimals, '0');
  const text = decimals === 0 ? digits : `${digits.slice(0, cut)}.${frac}`;
  return negative ? `-${text}` : text;
}

/** Parses "61234.56000000" into units of 10^-scale (extra decimals must be zeros). */
export function parseUnits(text: string, scale: number): bigint {
  const negative = text.startsWith('-');
  const body = negative ? text.slice(1) : text;
  const dot = body.indexOf('.');
  const whole = dot < 0 ? body : body.slice(0, dot);
  let frac = dot < 0 ? '' : body.slice(dot + 1);
  if (frac.length > scale) frac = frac.slice(0, scale);
  const units = BigInt((whole || '0') + frac.padEnd(scale, '0'));
  return negative ? -units : units;
}
