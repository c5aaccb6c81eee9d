import { type Instrument, instrumentOf } from '../core/events.js';
import type { AnomalyUpdate } from './live.js';

/**
 * The processor flags anomalies on its metric windows (trade_metrics: volatility_alert,
 * volume_spike, price_move; spread_metrics: spread_warning). These turn a flagged window into the
 * anomaly entries the dashboard lists, for rows read from the database and for rows the processor
 * has just written alike, so both say the same thing.
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

export interface SpreadFlags extends Instrument {
  readonly windowStart: number;
  readonly interval: string;
  readonly spreadWarning: boolean;
  readonly avgSpreadBps: number;
}

export function tradeAnomalies(m: TradeFlags): AnomalyUpdate[] {
  const out: AnomalyUpdate[] = [];
  const base = { ...instrumentOf(m), time: m.windowStart };
  if (m.volatilityAlert) {
    const ratio = m.vwap !== null && +m.vwap > 0 ? (m.priceStddev / +m.vwap) * 100 : null;
    const relative = ratio === null ? '' : ` (${ratio.toFixed(3)}% of VWAP)`;
    out.push({ ...base, kind: 'volatility', value: m.priceStddev, message: `price stddev ${m.priceStddev.toPrecision(6)}${relative} in ${m.interval}` });
  }
  if (m.volumeSpike) out.push({ ...base, kind: 'volumeSpike', value: m.volume, message: `volume ${m.volume} in ${m.interval}, above the recent average` });
  if (m.priceMove) {
    const pct = +m.open > 0 ? ((+m.close - +m.open) / +m.open) * 100 : 0;
    out.push({ ...base, kind: 'priceMove', value: pct, message: `price ${pct >= 0 ? '+' : ''}${pct.toFixed(2)}% in ${m.interval} (${m.open} → ${m.close})` });
  }
  return out;
}

export function spreadAnomalies(m: SpreadFlags): AnomalyUpdate[] {
  if (!m.spreadWarning) return [];
  return [{ ...instrumentOf(m), time: m.windowStart, kind: 'spreadWarning', value: m.avgSpreadBps, message: `average spread ${m.avgSpreadBps.toFixed(2)} bps in ${m.interval}` }];
}
