import type { Bus } from '../bus/bus.js';
import { MemoryBus } from '../bus/memory.js';
import { errorMessage } from '../core/errors.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { RoleContext } from './context.js';

/** The bus registry: `bus.kind` picks the in-process bus or Kafka. */
export async function openBus(ctx: RoleContext): Promise<Bus> {
  const { config, logger, metrics } = ctx;
  const bus: Bus =
    config.bus.kind === 'kafka'
      ? (() => { throw new Error(`kafka bus pending (${String(metrics)})`); })()
      : new MemoryBus(config.bus.maxBufferedEvents, 1_000, (err) =>
          logger.error({ component: 'bus', err: errorMessage(err) }, 'consumer failed on a batch; redelivering'),
        );
  ctx.health.register('bus', () =>
    bus.writable() ? { state: 'up', details: { kind: bus.kind } } : { state: 'down', reason: `${bus.kind} bus not writable` },
  );
  ctx.shutdown.onShutdown('close bus', () => bus.close(), ShutdownOrder.commitOffsets + 10);
  return bus;
}
