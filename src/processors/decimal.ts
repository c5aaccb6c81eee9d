import { ErrorCodes, TickflowError } from '../core/errors.js';

/**
 * Exact decimals as scaled integers: `value × 10^-scale`. Binance sends prices and quantities as
 * decimal strings; keeping them as scaled bigints makes volumes and quote volumes equal the
 * exchange's to the last digit, which floats cannot.
 */
export interface Dec {
  readonly value: bigint;
  readonly scale: number;
}

export const ZERO: Dec = { value: 0n, scale: 0 };

const DECIMAL = /^[+-]?(\d+(\.\d*)?|\.\d+)$/;
const POWERS: bigint[] = [];
for (let i = 0n, p = 1n; i <= 40n; i += 1n, p *= 10n) POWERS.push(p);

function pow10(n: number): bigint {
  return POWERS[n] ?? 10n ** BigInt(n);
}

/** Parses "61234.50", "-0.001", "5"; the scale is the number of digits after the point. */
export function parseDecimal(text: string): Dec {
  if (!DECIMAL.test(text)) {
    throw new TickflowError(ErrorCodes.DECODE, `not a decimal number: "${text.slice(0, 40)}"`);
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

export function add(a: Dec, b: Dec): Dec {
  if (a.scale === b.scale) return { value: a.value + b.value, scale: a.scale };
  const scale = Math.max(a.scale, b.scale);
  return { value: rescale(a, scale) + rescale(b, scale), scale };
}

export function sub(a: Dec, b: Dec): Dec {
  return add(a, { value: -b.value, scale: b.scale });
}

export function mul(a: Dec, b: Dec): Dec {
  return { value: a.value * b.value, scale: a.scale + b.scale };
}

export function compare(a: Dec, b: Dec): -1 | 0 | 1 {
  const scale = Math.max(a.scale, b.scale);
  const x = rescale(a, scale);
  const y = rescale(b, scale);
  return x < y ? -1 : x > y ? 1 : 0;
}

export function isZero(d: Dec): boolean {
  return d.value === 0n;
}

export function max(a: Dec, b: Dec): Dec {
  return compare(a, b) >= 0 ? a : b;
}

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
