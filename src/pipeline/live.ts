import type { LiveFeed } from '../api/live.js';
import type { Bus, BusConsumer } from '../bus/bus.js';
import type { RoleContext } from './context.js';

/**
 * Feeds the dashboard's live channel from the bus as its own consumer group, so the live view
 * never delays storage. It only reads the newest events; nothing it sees needs to be durable.
 */
export async function feedLive(bus: Bus, live: LiveFeed, ctx: RoleContext): Promise<BusConsumer> {
  let consumer: BusConsumer | undefined;
  consumer = await bus.subscribe(
    { group: `${ctx.config.bus.groupPrefix}-live-${process.pid}`, topics: ['trades', 'bookTicker', 'gaps'], fromBeginning: false },
    {
      onDeliveries: async (batch) => {
        for (const d of batch) live.publish(d.event);
        await consumer?.commit(batch.slice(-1));
      },
    },
  );
  ctx.logger.debug({ component: 'live' }, 'live feed subscribed');
  return consumer;
}
