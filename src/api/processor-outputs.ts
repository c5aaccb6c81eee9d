import { instrumentOf } from '../core/events.js';
import type { Upsert } from '../processors/processor-core.js';
import { spreadAnomalies, tradeAnomalies } from './anomalies.js';
import type { LiveFeed } from './live.js';

/**
 * Hands the processor's written rows to the live feed: candles (with VWAP and moving averages),
 * metric windows, and — once a window is final, so a flag is reported once — its anomalies.
 * Whale trades need nothing here: the tape flags them itself.
 */
export function publishProcessorOutputs(live: LiveFeed, upserts: readonly Upsert[]): void {
  for (const u of upserts) {
    switch (u.table) {
      case 'candles': {
        const r = u.row;
        live.publishCandle({
          ...instrumentOf(r),
          interval: r.interval,
          time: r.windowStart,
          open: r.open,
          high: r.high,
          low: r.low,
          close: r.close,
          volume: r.volume,
          tradeCount: r.tradeCount,
          final: r.isFinal,
          vwap: r.vwap,
          averages: r.indicators,
        });
        break;
      }
      case 'trade_metrics': {
        const r = u.row;
        live.publishMetric({
          ...instrumentOf(r),
          kind: 'trades',
          time: r.windowStart,
          values: { interval: r.interval, vwap: r.vwap, volume: r.volume, buyVolume: r.buyVolume, sellVolume: r.sellVolume, tradeCount: r.tradeCount, priceStddev: r.priceStddev },
        });
        if (r.isFinal) for (const a of tradeAnomalies(r)) live.publishAnomaly(a);
        break;
      }
      case 'spread_metrics': {
        const r = u.row;
        live.publishMetric({
          ...instrumentOf(r),
          kind: 'spread',
          time: r.windowStart,
          values: { interval: r.interval, avgSpreadBps: r.avgSpreadBps, minSpread: r.minSpread, maxSpread: r.maxSpread, updateCount: r.updateCount },
        });
        if (r.isFinal) for (const a of spreadAnomalies(r)) live.publishAnomaly(a);
        break;
      }
      case 'whale_trades':
      case 'late_events':
        break;
    }
  }
}
