import { type Instrument, instrumentOf } from '../core/events.js';

/**
 * The one home of anomaly classification: the processor flags its metric windows (trade_metrics:
 * volatility_alert, volume_spike, price_move; spread_metrics: spread_warning), and this turns a
 * flagged window into anomaly entries with their value and the threshold it crossed. The signal
 * stream, the live feed and /api/anomalies (rows read back from the database) all call it, so they
 * say the same thing.
 */

/** The anomaly kinds, one per window flag (the API contract's enum is this list). */
export const ANOMALY_KINDS = ['volatility', 'volumeSpike', 'priceMove', 'spreadWarning'] as const;
/** One of ANOMALY_KINDS. */
export type AnomalyKind = (typeof ANOMALY_KINDS)[number];

/** One anomaly of one window; `time` is the window start (epoch ms). */
export interface Anomaly extends Instrument {
  readonly kind: AnomalyKind;
  readonly time: number;
  readonly message: string;
  readonly value: number | string | null;
  /** The configured threshold the value crossed (config.processor.*), stated in `message` too. */
  readonly threshold: number;
}

/** The processor's anomaly thresholds (config.processor). */
export interface AnomalyThresholds {
  readonly volatilityRatio: number;
  readonly volumeSpikeFactor: number;
  readonly priceMovePct: number;
  readonly spreadWarningBps: number;
  /** Unset by default: on a book whose spread is one tick most of the time, any average beats a small multiple of that tick. */
  readonly spreadWarningFactor?: number | undefined;
}

/**
 * The fields of a trade-metrics window that tradeAnomalies reads: its start (epoch ms), interval,
 * flags and the values they state.
 */
export interface TradeFlags extends Instrument {
  readonly windowStart: number;
  readonly interval: string;
  readonly volatilityAlert: boolean;
  readonly volumeSpike: boolean;
  readonly priceMove: boolean;
  readonly priceStddev: number;
  readonly vwap: string | null;
  readonly volume: string;
  readonly open: string;
  readonly close: string;
}

/**
 * The fields of a spread-metrics window that spreadAnomalies reads: its start (epoch ms), interval,
 * flag and average spread (bps).
 */
export interface SpreadFlags extends Instrument {
  readonly windowStart: number;
  readonly interval: string;
  readonly spreadWarning: boolean;
  readonly avgSpreadBps: number;
}

/** Price stddev / VWAP (scale-free, what `volatilityRatio` bounds); null without a VWAP. */
export function volatilityOf(priceStddev: number, vwap: string | null): number | null {
  return vwap !== null && +vwap > 0 ? priceStddev / +vwap : null;
}

/** (close − open) / open in percent; statistics only (the flag itself is decided exactly). */
export function priceMovePctOf(open: string, close: string): number {
  return +open > 0 ? ((+close - +open) / +open) * 100 : 0;
}

/**
 * The anomaly lines of one trade-metrics window: one per flag it carries (volatilityAlert → `volatility`
 * with value stddev / VWAP, a ratio; volumeSpike → `volumeSpike` with the window's volume, a decimal
 * string; priceMove → `priceMove` with (close − open) / open in percent), each with the configured
 * threshold and a message stating both. `time` is the window start, epoch ms. [] when no flag is set.
 */
export function tradeAnomalies(m: TradeFlags, thresholds: AnomalyThresholds): Anomaly[] {
  const out: Anomaly[] = [];
  const base = { ...instrumentOf(m), time: m.windowStart };
  if (m.volatilityAlert) {
    const ratio = volatilityOf(m.priceStddev, m.vwap);
    const relative = ratio === null ? '' : ` = ${(ratio * 100).toFixed(3)}% of VWAP`;
    out.push({
      ...base,
      kind: 'volatility',
      value: ratio,
      threshold: thresholds.volatilityRatio,
      message: `price stddev ${m.priceStddev.toPrecision(6)}${relative} in ${m.interval} (threshold ${(thresholds.volatilityRatio * 100).toFixed(3)}%)`,
    });
  }
  if (m.volumeSpike) {
    out.push({
      ...base,
      kind: 'volumeSpike',
      value: m.volume,
      threshold: thresholds.volumeSpikeFactor,
      message: `volume ${m.volume} in ${m.interval}, above ${thresholds.volumeSpikeFactor} × the recent average`,
    });
  }
  if (m.priceMove) {
    const pct = priceMovePctOf(m.open, m.close);
    out.push({
      ...base,
      kind: 'priceMove',
      value: pct,
      threshold: thresholds.priceMovePct,
      message: `price ${pct >= 0 ? '+' : ''}${pct.toFixed(2)}% in ${m.interval} (${m.open} → ${m.close}; threshold ±${thresholds.priceMovePct}%)`,
    });
  }
  return out;
}

/**
 * The `spreadWarning` anomaly of a spread-metrics window that carries the flag (value: its average
 * spread in bps; threshold: spreadWarningBps; the message names the factor rule too when one is
 * configured); [] otherwise. `time` is the window start, epoch ms.
 */
export function spreadAnomalies(m: SpreadFlags, thresholds: AnomalyThresholds): Anomaly[] {
  if (!m.spreadWarning) return [];
  const factor = thresholds.spreadWarningFactor === undefined ? '' : ` or ${thresholds.spreadWarningFactor} × the minimum spread`;
  return [
    {
      ...instrumentOf(m),
      time: m.windowStart,
      kind: 'spreadWarning',
      value: m.avgSpreadBps,
      threshold: thresholds.spreadWarningBps,
      message: `average spread ${m.avgSpreadBps.toFixed(2)} bps in ${m.interval} (threshold ${thresholds.spreadWarningBps} bps${factor})`,
    },
  ];
}
