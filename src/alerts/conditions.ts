import type { AlertCondition, AlertRule } from '../config/schema.js';

/**
 * How each condition's value reads in a message, in its unit. A message always states the value
 * and the threshold side by side, so a reader can judge the rule without opening the config.
 */
const FORMATS: Readonly<Record<AlertCondition, { readonly what: string; readonly format: (v: number) => string }>> = {
  volatility: { what: 'price stddev / VWAP', format: (v) => `${(v * 100).toFixed(3)}%` },
  spread: { what: 'average spread', format: (v) => `${v.toFixed(2)} bps` },
  volumeSpike: { what: 'volume / baseline mean', format: (v) => `${v.toFixed(1)}×` },
  priceMove: { what: '|price move| in the window', format: (v) => `${v.toFixed(2)}%` },
  whale: { what: 'trade notional', format: (v) => `${trimNumber(v)} (quote)` },
  gap: { what: 'missing ids', format: (v) => trimNumber(v) },
  gapUnhealed: { what: 'unhealed gaps', format: (v) => trimNumber(v) },
  consumerLag: { what: 'consumer lag', format: (v) => `${trimNumber(v)} records` },
  sourceDisconnected: { what: 'connections not open', format: (v) => trimNumber(v) },
  noData: { what: 'time without data', format: (v) => formatDuration(v) },
};

function trimNumber(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toPrecision(6);
}

/** `90000` → `1m30s`; `0` → `0s`. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1_000);
  for (const [unit, size] of [
    ['d', 86_400],
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    if (rest >= size) {
      parts.push(`${Math.floor(rest / size)}${unit}`);
      rest %= size;
    }
  }
  return parts.join('');
}

/** The rule's threshold for a symbol: its per-symbol entry, else its default. */
export function thresholdFor(rule: AlertRule, symbol: string | undefined): number {
  return (symbol === undefined ? undefined : (rule.thresholds[symbol] ?? rule.thresholds[symbol.toLowerCase()])) ?? rule.threshold;
}

/** `spread: average spread 12.40 bps > threshold 10.00 bps for 1m`; the value is `no data` when there is none. */
export function describe(rule: AlertRule, value: number | null, threshold: number): string {
  const f = FORMATS[rule.condition];
  const held = rule.for > 0 ? ` for ${formatDuration(rule.for)}` : '';
  const shown = value === null ? 'no data' : f.format(value);
  return `${f.what} ${shown} (threshold ${f.format(threshold)}${held})`;
}

/** Conditions evaluated on final metric windows of an instrument. */
export const WINDOW_CONDITIONS: ReadonlySet<AlertCondition> = new Set(['volatility', 'spread', 'volumeSpike', 'priceMove']);
/** Conditions that hold for `within` after each event. */
export const EVENT_CONDITIONS: ReadonlySet<AlertCondition> = new Set(['whale', 'gap']);
