import { ErrorCodes, TickflowError } from './errors.js';

/**
 * Exact decimals, the one home for decimal arithmetic. Binance sends prices and quantities as
 * decimal strings; they stay exact from the wire to the database. Two shapes:
 * - `Dec` (scaled bigint with its own scale) for the processors' sums and averages;
 * - units at a fixed scale (`formatUnits`/`parseUnits`), for the simulator, whose prices are ticks
 *   and sizes lot steps of a symbol.
 */

/**
 * An exact decimal as a scaled integer: `value × 10^-scale`. Keeping volumes and quote volumes as
 * scaled bigints makes them equal the exchange's to the last digit, which floats cannot.
 */
export interface Dec {
  readonly value: bigint;
  readonly scale: number;
}

/** 0 at scale 0. */
export const ZERO: Dec = { value: 0n, scale: 0 };

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const POWERS: bigint[] = [];
for (let i = 0n, p = 1n; i <= 40n; i += 1n, p *= 10n) POWERS.push(p);

function pow10(n: number): bigint {
  return POWERS[n] ?? 10n ** BigInt(n);
}

/**
 * Parses "61234.50", "-0.001", "5"; the scale is the number of digits after the point. Throws
 * DECODE for anything else, a missing field (undefined) or a JSON number included: a schema-1 Kafka
 * record is only shape-checked, so its decimals reach here as whatever the producer wrote.
 */
export function parseDecimal(text: string): Dec {
  if (typeof text !== 'string' || !DECIMAL.test(text)) {
    throw new TickflowError(ErrorCodes.DECODE, `not a decimal number: ${typeof text === 'string' ? `"${text.slice(0, 40)}"` : String(text)}`);
  }
  const dot = text.indexOf('.');
  if (dot < 0) return { value: BigInt(text), scale: 0 };
  const digits = text.slice(0, dot) + text.slice(dot + 1);
  return { value: BigInt(digits === '' || digits === '-' || digits === '+' ? '0' : digits), scale: text.length - dot - 1 };
}

/** Exact decimal of a finite config number such as 100000 or 0.5 (no exponent notation). */
export function decimalFromNumber(n: number): Dec {
  if (!Number.isFinite(n)) throw new TickflowError(ErrorCodes.CONFIG_INVALID, `not a finite number: ${n}`);
  return trim(parseDecimal(n.toFixed(12)));
}

/** The same value at a larger scale (never loses digits). */
function rescale(d: Dec, scale: number): bigint {
  return scale === d.scale ? d.value : d.value * pow10(scale - d.scale);
}

/** a + b, exact, at the larger of the two scales. */
export function add(a: Dec, b: Dec): Dec {
  if (a.scale === b.scale) return { value: a.value + b.value, scale: a.scale };
  const scale = Math.max(a.scale, b.scale);
  return { value: rescale(a, scale) + rescale(b, scale), scale };
}

/** a − b, exact, at the larger of the two scales. */
export function sub(a: Dec, b: Dec): Dec {
  return add(a, { value: -b.value, scale: b.scale });
}

/** a × b, exact; the scale is the sum of the two scales (trim() drops the trailing zeros that leaves). */
export function mul(a: Dec, b: Dec): Dec {
  return { value: a.value * b.value, scale: a.scale + b.scale };
}

/** −1, 0 or 1 as a is less than, equal to or greater than b, whatever their scales (1.50 equals 1.5). */
export function compare(a: Dec, b: Dec): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale);
  const y = rescale(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Whether d is zero at any scale. */
export function isZero(d: Dec): boolean {
  return d.value === 0n;
}

/** The greater of a and b (a when equal), unchanged in scale. */
export function max(a: Dec, b: Dec): Dec {
  return compare(a, b) >= 0 ? a : b;
}

/** The smaller of a and b (a when equal), unchanged in scale. */
export function min(a: Dec, b: Dec): Dec {
  return compare(a, b) <= 0 ? a : b;
}

/**
 * a / b at a fixed result scale, rounded half away from zero (the rounding people expect for a
 * displayed average; fixed so that a replay produces the same digits).
 */
export function divide(a: Dec, b: Dec, scale: number): Dec {
  if (b.value === 0n) throw new TickflowError(ErrorCodes.DECODE, 'division by zero');
  // a/b = (a.v·10^-as)/(b.v·10^-bs); result.v = a.v·10^(scale+bs-as) / b.v
  const shift = scale + b.scale - a.scale;
  let num = a.value;
  let den = b.value;
  if (shift >= 0) num *= pow10(shift);
  else den *= pow10(-shift);
  if (den < 0n) {
    num = -num;
    den = -den;
  }
  const negative = num < 0n;
  const abs = negative ? -num : num;
  let q = abs / den;
  if ((abs % den) * 2n >= den) q += 1n;
  return { value: negative ? -q : q, scale };
}

/** Drops trailing fractional zeros: 1.2300 → 1.23 (same value, canonical form for comparisons). */
export function trim(d: Dec): Dec {
  let { value, scale } = d;
  while (scale > 0 && value % 10n === 0n) {
    value /= 10n;
    scale -= 1;
  }
  return { value, scale };
}

/** The decimal string at the value's own scale: {value: 12340n, scale: 3} → "12.340". */
export function formatDecimal(d: Dec): string {
  const negative = d.value < 0n;
  const digits = (negative ? -d.value : d.value).toString();
  if (d.scale === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(d.scale + 1, '0');
  const cut = padded.length - d.scale;
  return `${negative ? '-' : ''}${padded.slice(0, cut)}.${padded.slice(cut)}`;
}

/** For statistics that are floats by nature (stddev, ratios for flags), never for sums. */
export function toNumber(d: Dec): number {
  return Number(formatDecimal(d));
}

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
