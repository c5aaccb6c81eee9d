import { buildApp } from '../api/app.js';
import { createLiveFeed } from '../api/live.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import { limitHeapGrowth } from '../ops/heap-growth.js';
import { healthEndpointFor, startOpsServer } from '../ops/ops-server.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import { processorGroup, startProcessor, tradeStreamOf } from '../processors/processor-role.js';
import { storeGroup, startStoreWriter } from '../store/writer.js';
import { startAlertsFor } from './alerts.js';
import { serveApi } from './api-server.js';
import { openBus } from './bus.js';
import { deps, type RoleContext } from './context.js';
import { openStore } from './database.js';
import { configuredRestEndpoints, startHealing } from './heal.js';
import { startIngest } from './ingest.js';
import { watchLag } from './lag.js';
import { feedLive } from './live.js';
import { openSinks } from './sinks.js';
import { publishSignalsTo, signalsFromBus } from './signals.js';
import { createSource } from './sources.js';

/**
 * The distributed roles: the same parts as `tickflow run`, one role per process, connected by
 * Kafka consumer groups (`tickflow-store`, `tickflow-process`) and a shared PostgreSQL server.
 */

export interface RoleHandle {
  /** Where /live, /ready, /health and /metrics answer. */
  readonly opsUrl: string;
}

/** `tickflow ingest`: WebSocket source → Kafka and every configured sink. */
export async function startIngestRole(ctx: RoleContext): Promise<RoleHandle> {
  requireKafka(ctx);
  const bus = await openBus(ctx);
  const sinks = await openSinks(ctx);
  await startIngest(ctx, await createSource(ctx), bus, sinks);
  return { opsUrl: await serveOps(ctx) };
}

/** `tickflow store`: Kafka → PostgreSQL, consumer group tickflow-store; heals trade/aggTrade gaps from REST. */
export async function startStoreRole(ctx: RoleContext): Promise<RoleHandle> {
  requireKafka(ctx);
  // Only this role: its records outlive a young-generation collection while a batch is written,
  // and the other roles' CPU was not measured with the flag (docs/benchmarks.md, issue 14).
  limitHeapGrowth();
  const db = await openStore(ctx);
  const bus = await openBus(ctx, db);
  const writer = await startStoreWriter({ ...deps(ctx), bus, db });
  ctx.shutdown.onShutdown('flush store writer', () => writer.close(), ShutdownOrder.flushBuffers);
  // The store role owns the gaps table, so it heals: healed rows go back on Kafka for the processor.
  startHealing(ctx, db, (batch) => bus.publish(batch), configuredRestEndpoints(ctx));
  watchLag(ctx, { [storeGroup(ctx.config.bus)]: writer });
  return { opsUrl: await serveOps(ctx) };
}

/**
 * `tickflow process`: Kafka → stream processor → PostgreSQL, consumer group tickflow-process; every
 * written batch becomes signals on the `signals` topic for `serve` and its alert engine.
 */
export async function startProcessRole(ctx: RoleContext): Promise<RoleHandle> {
  requireKafka(ctx);
  const db = await openStore(ctx);
  const bus = await openBus(ctx, db);
  const processor = await startProcessor({ ...deps(ctx), bus, db, onWritten: publishSignalsTo(ctx, bus) });
  ctx.shutdown.onShutdown('flush stream processor', () => processor.close(), ShutdownOrder.flushBuffers);
  watchLag(ctx, { [processorGroup(ctx.config.bus)]: processor });
  return { opsUrl: await serveOps(ctx) };
}

/**
 * `tickflow serve`: the API and dashboard over a PostgreSQL server, live data from Kafka: market
 * events for the tape and forming candles, the processor's signals (candles, metrics, anomalies)
 * for the charts and the alert engine.
 */
export async function startServeRole(ctx: RoleContext): Promise<RoleHandle & { apiUrl: string }> {
  requireKafka(ctx);
  const { config } = ctx;
  const db = await openStore(ctx);
  const bus = await openBus(ctx, db);
  const live = createLiveFeed({
    intervals: config.processor.candleIntervals,
    whaleNotional: config.processor.whaleNotional,
    whaleNotionalBySymbol: config.processor.whaleNotionalBySymbol,
    tradeStream: tradeStreamOf(config),
  });
  const consumer = await feedLive(bus, live, ctx);
  ctx.shutdown.onShutdown('stop live feed', () => consumer.close(), ShutdownOrder.stopReading);
  const signals = await signalsFromBus(ctx, bus);
  signals.subscribe((batch) => live.publishSignals(batch));
  const alerts = await startAlertsFor(ctx, { db, bus, signals });
  const app = await buildApp({ ...deps(ctx), db, live, alerts, pipeline: () => ({ source: null, bus: { kind: bus.kind, consumerLag: null } }) });
  const apiUrl = await serveApi(ctx, app);
  return { apiUrl, opsUrl: apiUrl };
}

/**
 * Roles in separate processes only meet over Kafka (or Kinesis, bus.kind=kinesis); the in-process
 * bus would connect nothing. Checked before a role opens anything (a data dir, a database, a port).
 * @throws TickflowError TF_CONFIG_INVALID naming bus.kind.
 */
function requireKafka(ctx: RoleContext): void {
  if (ctx.config.bus.kind === 'memory') {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `invalid value for bus.kind: "${ctx.config.bus.kind}" — tickflow ${ctx.role} exchanges data with the other roles over Kafka: ` +
        'use --bus kafka (TICKFLOW_BUS_KIND=kafka), or `tickflow run` for everything in one process',
    );
  }
}

async function serveOps(ctx: RoleContext): Promise<string> {
  const endpoint = healthEndpointFor(ctx.role, ctx.config);
  if (endpoint.onApi) throw new Error(`role ${ctx.role} has no API to carry its probes`);
  const ops = await startOpsServer({ ...endpoint, health: ctx.health, metrics: ctx.metrics, logger: ctx.logger });
  ctx.shutdown.onShutdown('close ops server', () => ops.close(), ShutdownOrder.closeServers);
  return `http://${endpoint.host}:${ops.port}`;
}
