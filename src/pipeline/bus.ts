import type { Bus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka/index.js';
import { KinesisBus } from '../bus/kinesis/index.js';
import { MemoryBus } from '../bus/memory.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { Queryable } from '../store/database.js';
import type { RoleContext } from './context.js';

/**
 * The bus registry: `bus.kind` picks the implementation (one entry per kind the config schema
 * allows). `db` keeps the Kinesis consumers' shard checkpoints (roles that only publish pass none).
 */
export const busKinds: { readonly [K in Config['bus']['kind']]: (ctx: RoleContext, db?: Queryable) => Promise<Bus> } = {
  memory: async ({ config, logger, metrics }) =>
    new MemoryBus(
      config.bus.maxBufferedEvents,
      1_000,
      (err, retrying) =>
        logger.error(
          { component: 'bus', err: errorMessage(err) },
          retrying
            ? 'consumer failed on a batch; redelivering'
            : 'consumer failed on a batch and retrying cannot help; the group stops and the bus reports down',
        ),
      metrics,
      config.bus.lingerMs,
    ),
  kafka: async ({ config, logger, metrics }) => {
    const bus = new KafkaBus(config.bus, { logger, metrics });
    await bus.start();
    return bus;
  },
  kinesis: async ({ config, logger, metrics }, db) =>
    new KinesisBus(config.bus, { logger, metrics, dataDir: config.store.dataDir, ...(db ? { checkpoints: db } : {}) }),
};

/** Opens the configured bus, reports it in /health, and closes it after the roles committed their offsets. */
export async function openBus(ctx: RoleContext, db?: Queryable): Promise<Bus> {
  const bus = await busKinds[ctx.config.bus.kind](ctx, db);
  ctx.health.register('bus', () => {
    const failure = bus.failure();
    if (failure !== undefined) return { state: 'down', reason: `${failure}; restart the process once the cause is fixed`, details: { kind: bus.kind } };
    return bus.writable() ? { state: 'up', details: { kind: bus.kind } } : { state: 'down', reason: `${bus.kind} bus not writable` };
  });
  ctx.shutdown.onShutdown('close bus', () => bus.close(), ShutdownOrder.commitOffsets + 10);
  return bus;
}
