import { instrumentOf } from '../core/events.js';
import type { Signal } from '../core/signals.js';
import { type AnomalyThresholds, priceMovePctOf, spreadAnomalies, tradeAnomalies, volatilityOf } from './anomalies.js';
import { formatDecimal } from '../core/decimal.js';
import type { Upsert } from './processor-core.js';
import type { WhaleDetector } from './whales.js';

/**
 * The signals a batch of written processor rows stands for. Anomalies are emitted once per window,
 * when it is final, so a flag is reported once; late corrections of a final window emit it again
 * (consumers key anomalies by instrument, kind and window, as the alert engine does).
 */
export function signalsOf(upserts: readonly Upsert[], thresholds: AnomalyThresholds, whales: WhaleDetector): Signal[] {
  const out: Signal[] = [];
  for (const u of upserts) {
    switch (u.table) {
      case 'candles': {
        const r = u.row;
        out.push({
          type: 'signal',
          kind: 'candle',
          ...instrumentOf(r),
          interval: r.interval,
          time: r.windowStart,
          open: r.open,
          high: r.high,
          low: r.low,
          close: r.close,
          volume: r.volume,
          tradeCount: r.tradeCount,
          vwap: r.vwap,
          averages: r.indicators,
          final: r.isFinal,
        });
        break;
      }
      case 'trade_metrics': {
        const r = u.row;
        const baseline = r.volumeBaseline === null ? 0 : +r.volumeBaseline;
        out.push({
          type: 'signal',
          kind: 'tradeMetrics',
          ...instrumentOf(r),
          interval: r.interval,
          time: r.windowStart,
          end: r.windowEnd,
          final: r.isFinal,
          vwap: r.vwap,
          volume: r.volume,
          buyVolume: r.buyVolume,
          sellVolume: r.sellVolume,
          tradeCount: r.tradeCount,
          priceStddev: r.priceStddev,
          open: r.open,
          close: r.close,
          volatility: volatilityOf(r.priceStddev, r.vwap),
          volumeRatio: baseline > 0 ? +r.volume / baseline : null,
          priceMovePct: priceMovePctOf(r.open, r.close),
        });
        if (r.isFinal) for (const a of tradeAnomalies(r, thresholds)) out.push(anomalySignal(a));
        break;
      }
      case 'spread_metrics': {
        const r = u.row;
        out.push({
          type: 'signal',
          kind: 'spreadMetrics',
          ...instrumentOf(r),
          interval: r.interval,
          time: r.windowStart,
          end: r.windowEnd,
          final: r.isFinal,
          avgSpreadBps: r.avgSpreadBps,
          minSpread: r.minSpread,
          maxSpread: r.maxSpread,
          updateCount: r.updateCount,
        });
        if (r.isFinal) for (const a of spreadAnomalies(r, thresholds)) out.push(anomalySignal(a));
        break;
      }
      case 'whale_trades': {
        const r = u.row;
        out.push({
          type: 'signal',
          kind: 'whale',
          ...instrumentOf(r),
          time: r.tradeTime,
          tradeId: r.tradeId,
          price: r.price,
          quantity: r.quantity,
          notional: r.notional,
          side: r.side,
          threshold: formatDecimal(whales.threshold(r.symbol)),
        });
        break;
      }
      case 'late_events':
        break;
    }
  }
  return out;
}

function anomalySignal(a: ReturnType<typeof tradeAnomalies>[number]): Signal {
  return { type: 'signal', kind: 'anomaly', ...instrumentOf(a), time: a.time, anomaly: a.kind, message: a.message, value: a.value, threshold: a.threshold };
}
