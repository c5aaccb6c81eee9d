import type { Bus } from '../bus/bus.js';
import { KafkaBus } from '../bus/kafka/index.js';
import { MemoryBus } from '../bus/memory.js';
import { errorMessage } from '../core/errors.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { RoleContext } from './context.js';

/** The bus registry: `bus.kind` picks the in-process bus or Kafka. */
export async function openBus(ctx: RoleContext): Promise<Bus> {
  const { config, logger } = ctx;
  const bus: Bus =
    config.bus.kind === 'kafka'
      ? await startKafka(ctx)
      : new MemoryBus(
          config.bus.maxBufferedEvents,
          1_000,
          (err, retrying) =>
            logger.error(
              { component: 'bus', err: errorMessage(err) },
              retrying ? 'consumer failed on a batch; redelivering' : 'consumer failed on a batch and retrying cannot help; the group stops and the bus reports down',
            ),
          ctx.metrics,
        );
  ctx.health.register('bus', () =>
    bus.writable() ? { state: 'up', details: { kind: bus.kind } } : { state: 'down', reason: `${bus.kind} bus not writable` },
  );
  ctx.shutdown.onShutdown('close bus', () => bus.close(), ShutdownOrder.commitOffsets + 10);
  return bus;
}

async function startKafka(ctx: RoleContext): Promise<Bus> {
  const bus = new KafkaBus(ctx.config.bus, { logger: ctx.logger, metrics: ctx.metrics });
  await bus.start();
  return bus;
}
