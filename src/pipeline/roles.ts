import { buildApp } from '../api/app.js';
import { createLiveFeed } from '../api/live.js';
import type { Bus } from '../bus/bus.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import { healthEndpointFor, startOpsServer } from '../ops/ops-server.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import { processorGroup, startProcessor } from '../processors/processor-role.js';
import { storeGroup, startStoreWriter } from '../store/writer.js';
import { openBus } from './bus.js';
import { deps, type RoleContext } from './context.js';
import { openStore } from './database.js';
import { startIngest } from './ingest.js';
import { watchLag } from './lag.js';
import { feedLive } from './live.js';
import { followStoredWindows } from './stored-updates.js';
import { createSource } from './sources.js';

/**
 * The distributed roles: the same parts as `tickflow run`, one role per process, connected by
 * Kafka consumer groups (`tickflow-store`, `tickflow-process`) and a shared PostgreSQL server.
 */

export interface RoleHandle {
  /** Where /live, /ready, /health and /metrics answer. */
  readonly opsUrl: string;
}

/** `tickflow ingest`: WebSocket source → Kafka. */
export async function startIngestRole(ctx: RoleContext): Promise<RoleHandle> {
  const bus = await openDistributedBus(ctx);
  const { source } = await createSource(ctx);
  await startIngest(ctx, source, bus);
  return { opsUrl: await serveOps(ctx) };
}

/** `tickflow store`: Kafka → PostgreSQL, consumer group tickflow-store. */
export async function startStoreRole(ctx: RoleContext): Promise<RoleHandle> {
  const db = await openStore(ctx);
  const bus = await openDistributedBus(ctx);
  const writer = await startStoreWriter({ ...deps(ctx), bus, db });
  ctx.shutdown.onShutdown('flush store writer', () => writer.close(), ShutdownOrder.flushBuffers);
  watchLag(ctx, { [storeGroup(ctx.config.bus)]: writer });
  return { opsUrl: await serveOps(ctx) };
}

/** `tickflow process`: Kafka → stream processor → PostgreSQL, consumer group tickflow-process. */
export async function startProcessRole(ctx: RoleContext): Promise<RoleHandle> {
  const db = await openStore(ctx);
  const bus = await openDistributedBus(ctx);
  const processor = await startProcessor({ ...deps(ctx), bus, db });
  ctx.shutdown.onShutdown('flush stream processor', () => processor.close(), ShutdownOrder.flushBuffers);
  watchLag(ctx, { [processorGroup(ctx.config.bus)]: processor });
  return { opsUrl: await serveOps(ctx) };
}

/** `tickflow serve`: the API and dashboard over a PostgreSQL server, live data from Kafka. */
export async function startServeRole(ctx: RoleContext): Promise<RoleHandle & { apiUrl: string }> {
  const { config } = ctx;
  const db = await openStore(ctx);
  const bus = await openDistributedBus(ctx);
  const live = createLiveFeed({
    intervals: config.processor.candleIntervals,
    whaleNotional: config.processor.whaleNotional,
    whaleNotionalBySymbol: config.processor.whaleNotionalBySymbol,
  });
  const consumer = await feedLive(bus, live, ctx);
  ctx.shutdown.onShutdown('stop live feed', () => consumer.close(), ShutdownOrder.stopReading);
  followStoredWindows(ctx, db, live);
  const app = await buildApp({ ...deps(ctx), db, live, pipeline: () => ({ source: null, bus: { kind: bus.kind, consumerLag: null } }) });
  await app.listen({ host: config.api.host, port: config.api.port });
  ctx.shutdown.onShutdown('close API server', () => app.close(), ShutdownOrder.closeServers);
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.api.port;
  const apiUrl = `http://${config.api.host}:${port}`;
  ctx.logger.info({ url: apiUrl }, 'dashboard and API listening');
  return { apiUrl, opsUrl: apiUrl };
}

/** Roles in separate processes only meet over Kafka; the in-process bus would connect nothing. */
async function openDistributedBus(ctx: RoleContext): Promise<Bus> {
  if (ctx.config.bus.kind !== 'kafka') {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `invalid value for bus.kind: "${ctx.config.bus.kind}" — tickflow ${ctx.role} exchanges data with the other roles over Kafka: ` +
        'use --bus kafka (TICKFLOW_BUS_KIND=kafka), or `tickflow run` for everything in one process',
    );
  }
  return openBus(ctx);
}

async function serveOps(ctx: RoleContext): Promise<string> {
  const endpoint = healthEndpointFor(ctx.role, ctx.config);
  if (endpoint.onApi) throw new Error(`role ${ctx.role} has no API to carry its probes`);
  const ops = await startOpsServer({ ...endpoint, health: ctx.health, metrics: ctx.metrics, logger: ctx.logger });
  ctx.shutdown.onShutdown('close ops server', () => ops.close(), ShutdownOrder.closeServers);
  return `http://${endpoint.host}:${ops.port}`;
}
