import type { StateProbe } from '../../src/alerts/engine.js';
import type { SpreadMetricsSignal } from '../../src/core/signals.js';

/** The instrument the alert tests fire on. */
export const BTC = { exchange: 'binance', market: 'spot', symbol: 'BTCUSDT' };

/** 2024-08-09T00:00:00Z, epoch ms: the alert tests' fixed clock start. */
export const T0 = 1_723_161_600_000;

/** A state probe with nothing wrong: no consumer lag, no source down, no quiet stream, no unhealed gap. */
export const NO_TROUBLE: StateProbe = { consumerLag: [], sourceDisconnected: [], noData: [], gapUnhealed: [] };

/**
 * A final 30 s spreadMetrics window of `instrument` starting at `start` (epoch ms) with an average
 * spread of `avgSpreadBps` basis points — what a `spread` alert rule compares with its threshold.
 * Min and max spread and the update count are filler that no rule reads.
 */
export function spreadWindow(instrument: typeof BTC, start: number, avgSpreadBps: number): SpreadMetricsSignal {
  return {
    type: 'signal',
    kind: 'spreadMetrics',
    ...instrument,
    interval: '30s',
    time: start,
    end: start + 30_000,
    final: true,
    avgSpreadBps,
    minSpread: '0.01',
    maxSpread: '1',
    updateCount: 10,
  };
}
