import type { LiveFeed } from '../api/live.js';
import { intervalMs } from '../core/intervals.js';
import { anomalies, candles } from '../api/queries.js';
import { errorMessage } from '../core/errors.js';
import { instrumentKey } from '../core/events.js';
import { configuredInstruments } from '../sources/markets.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { Database } from '../store/database.js';
import type { RoleContext } from './context.js';

/**
 * `tickflow serve` runs apart from the processor, so the processor's rows (candles with VWAP and
 * moving averages, anomaly flags) reach its live feed from the database: every trigger interval,
 * the newest windows are read and handed on as `tickflow run` hands on what its processor wrote.
 */
export function followStoredWindows(ctx: RoleContext, db: Database, live: LiveFeed): void {
  const { config } = ctx;
  const log = ctx.logger.child({ component: 'stored-updates' });
  const announced = new Set<string>();
  let since = Date.now() - config.processor.allowedLatenessMs - config.processor.metricsWindowMs;
  let running = false;

  const poll = async (): Promise<void> => {
    const now = Date.now();
    for (const instrument of configuredInstruments(config.source)) {
      for (const interval of config.processor.candleIntervals) {
        for (const c of await candles(db, instrument, interval, { from: now - 2 * intervalMs(interval), limit: 2 })) {
          live.publishCandle({ ...instrument, interval, time: c.time, open: c.open, high: c.high, low: c.low, close: c.close, volume: c.volume, tradeCount: c.tradeCount, final: c.final, vwap: c.vwap, averages: c.averages });
        }
      }
      // Anomalies are announced once, when their window is final (as in `tickflow run`).
      for (const a of await anomalies(db, instrument, { from: since, limit: 100 })) {
        const key = `${instrumentKey(a)}|${a.kind}|${a.time}`;
        if (!a.final || announced.has(key)) continue;
        announced.add(key);
        live.publishAnomaly(a);
      }
    }
    since = now - config.processor.allowedLatenessMs - config.processor.metricsWindowMs;
  };

  const timer = setInterval(() => {
    if (running) return;
    running = true;
    poll()
      .catch((err: unknown) => log.warn({ err: errorMessage(err) }, 'reading the newest windows failed; retrying'))
      .finally(() => (running = false));
  }, config.processor.triggerIntervalMs);
  ctx.shutdown.onShutdown('stop following stored windows', () => clearInterval(timer), ShutdownOrder.stopReading);
}
