import type { Bus, Delivery } from '../../src/bus/bus.js';

/**
 * Wraps a bus so that every consumer commit is first shown to `beforeCommit` (tests check what was
 * durable at the moment of the commit, or remember what a restart would resume from).
 */
export function observeCommits(inner: Bus, beforeCommit: (deliveries: readonly Delivery[]) => void | Promise<void>): Bus {
  return {
    kind: inner.kind,
    publish: (events) => inner.publish(events),
    writable: () => inner.writable(),
    failure: () => inner.failure(),
    close: () => inner.close(),
    async subscribe(options, hooks) {
      const consumer = await inner.subscribe(options, hooks);
      return {
        lag: () => consumer.lag(),
        close: () => consumer.close(),
        async commit(deliveries) {
          await beforeCommit(deliveries);
          await consumer.commit(deliveries);
        },
      };
    },
  };
}
