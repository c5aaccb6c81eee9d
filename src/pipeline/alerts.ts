import type { StateProbe, StateSample } from '../alerts/engine.js';
import { type AlertService, startAlerts } from '../alerts/service.js';
import { unhealedGaps } from '../alerts/store.js';
import type { Bus, BusConsumer } from '../bus/bus.js';
import type { SignalHub } from '../bus/signals.js';
import { instrumentKey } from '../core/events.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { SourceStatus } from '../sources/source.js';
import type { Database } from '../store/database.js';
import type { RoleContext } from './context.js';
import type { LagWatch } from './lag.js';

/**
 * What the alert engine of a role reads: the database, the bus (consumer lag), the signal stream, the
 * source status and lag watch when the role has them.
 */
export interface AlertInputs {
  readonly db: Database;
  readonly bus: Bus;
  readonly signals: SignalHub;
  /** The source of this process, when it has one (`run`); `serve` has none. */
  readonly source?: () => SourceStatus | undefined;
  readonly lag?: () => LagWatch | undefined;
}

/**
 * Starts the alert engine of a process that has the signal stream (`run`, `serve`): signals from
 * the hub, gaps from the bus as its own consumer group, state conditions from this process's source
 * and lag watcher, and unhealed gaps from the database. Undefined when alerts.enabled is false.
 */
export async function startAlertsFor(ctx: RoleContext, inputs: AlertInputs): Promise<AlertService | undefined> {
  const { config } = ctx;
  if (!config.alerts.enabled) return undefined;
  const gapWindow = Math.max(0, ...config.alerts.rules.filter((r) => r.condition === 'gapUnhealed').map((r) => r.within));
  const service = await startAlerts({
    config,
    db: inputs.db,
    logger: ctx.logger,
    probe: async () => probe(inputs, gapWindow, config.source.market),
  });
  const unsubscribe = inputs.signals.subscribe((signals) => service.observe(signals));
  let consumer: BusConsumer | undefined;
  consumer = await inputs.bus.subscribe(
    { group: `${config.bus.groupPrefix}-alerts-${process.pid}`, topics: ['gaps'], fromBeginning: false },
    {
      onDeliveries: async (batch) => {
        for (const d of batch) if (d.event.type === 'gap') service.observeGap(d.event);
        await consumer?.commit(batch.slice(-1));
      },
    },
  );
  ctx.shutdown.onShutdown(
    'stop alerts',
    async () => {
      unsubscribe();
      await consumer?.close();
      await service.close();
    },
    ShutdownOrder.flushBuffers + 10,
  );
  return service;
}

async function probe(inputs: AlertInputs, gapWindowMs: number, sourceMarket: string): Promise<StateProbe> {
  const now = Date.now();
  const status = inputs.source?.();
  const lag = inputs.lag?.();
  const lagByGroup = new Map<string, number>();
  for (const l of lag?.latest() ?? []) lagByGroup.set(l.group, Math.max(lagByGroup.get(l.group) ?? 0, l.lag));
  // Stream names (`btcusdt@trade`) carry the symbol; the source's market is the configured one.
  const market = (stream: string) => ({ exchange: 'binance', market: sourceMarket, symbol: (stream.split('@')[0] ?? stream).toUpperCase() });
  return {
    consumerLag: lag ? [...lagByGroup].map(([group, value]) => ({ key: group, value })) : null,
    sourceDisconnected: status ? (status.finished ? [] : status.connections.map((c) => ({ key: c.id, value: c.state === 'open' ? 0 : 1 }))) : null,
    noData: status
      ? status.finished
        ? []
        : Object.entries(status.lastMessageAt).map(([stream, at]): StateSample => ({ key: stream, instrument: market(stream), value: now - at }))
      : null,
    gapUnhealed:
      gapWindowMs > 0
        ? (await unhealedGaps(inputs.db, now - gapWindowMs)).map((g) => ({
            key: `${instrumentKey(g.instrument)}:${g.stream}`,
            instrument: g.instrument,
            value: g.count,
            since: g.since,
          }))
        : [],
  };
}
