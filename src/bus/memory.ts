import { monotonicMs } from '../core/clock.js';
import type { PipelineEvent } from '../core/events.js';
import type { Metrics } from '../ops/metrics.js';
import { eventKey } from '../core/events.js';
import type { Bus, BusConsumer, ConsumerHooks, ConsumerOptions, Delivery, TopicId } from './bus.js';
import { topicOf } from './bus.js';

interface Group {
  readonly topics: ReadonlySet<TopicId>;
  readonly hooks: ConsumerHooks;
  readonly queue: Delivery[];
  pumping: boolean;
  closed: boolean;
  committed: Map<TopicId, bigint>;
}

/**
 * The embedded bus: one partition per topic, bounded per consumer group. `publish` waits while
 * any group's queue is full, so a slow writer slows the source instead of growing memory.
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private readonly groups = new Map<string, Group>();
  private readonly offsets = new Map<TopicId, bigint>();
  private readonly waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    private readonly capacity = 50_000,
    private readonly maxBatch = 1_000,
    private readonly onHandlerError: (err: unknown) => void = () => {},
    private readonly metrics?: Pick<Metrics, 'eventsProduced' | 'produceLatency'>,
  ) {}

  writable(): boolean {
    return !this.closed;
  }

  async publish(events: readonly PipelineEvent[]): Promise<void> {
    const started = monotonicMs();
    while (!this.closed && this.fullest() + events.length > this.capacity && this.fullest() > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) throw new Error('bus closed');
    for (const event of events) {
      const topic = topicOf(event);
      const offset = this.offsets.get(topic) ?? 0n;
      this.offsets.set(topic, offset + 1n);
      const delivery: Delivery = { topic, partition: 0, offset, key: eventKey(event), event };
      this.metrics?.eventsProduced.inc({ topic });
      for (const group of this.groups.values()) {
        if (group.topics.has(topic)) group.queue.push(delivery);
      }
    }
    for (const group of this.groups.values()) this.pump(group);
    this.metrics?.produceLatency.observe((monotonicMs() - started) / 1000);
  }

  async subscribe(options: ConsumerOptions, hooks: ConsumerHooks): Promise<BusConsumer> {
    if (this.groups.has(options.group)) throw new Error(`consumer group ${options.group} already subscribed`);
    const group: Group = {
      topics: new Set(options.topics),
      hooks,
      queue: [],
      pumping: false,
      closed: false,
      committed: new Map(),
    };
    this.groups.set(options.group, group);
    await hooks.onAssign?.(options.topics.map((topic) => ({ topic, partition: 0 })));
    return {
      commit: async (deliveries) => {
        for (const d of deliveries) {
          if ((group.committed.get(d.topic) ?? -1n) < d.offset) group.committed.set(d.topic, d.offset);
        }
      },
      lag: async () =>
        [...group.topics].map((topic) => ({
          topic,
          partition: 0,
          lag: Number((this.offsets.get(topic) ?? 0n) - 1n - (group.committed.get(topic) ?? -1n)),
          end: Number(this.offsets.get(topic) ?? 0n),
        })),
      close: async () => {
        await this.drain(group);
        group.closed = true;
        await hooks.onRevoke?.(options.topics.map((topic) => ({ topic, partition: 0 })));
        this.groups.delete(options.group);
        this.release();
      },
    };
  }

  /** Resolves once every group has handed all published events to its handler. */
  async drain(only?: Group): Promise<void> {
    const groups = only ? [only] : [...this.groups.values()];
    while (groups.some((g) => g.queue.length > 0 || g.pumping)) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }

  async close(): Promise<void> {
    await this.drain();
    this.closed = true;
    this.release();
  }

  private fullest(): number {
    let max = 0;
    for (const g of this.groups.values()) max = Math.max(max, g.queue.length);
    return max;
  }

  private release(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private pump(group: Group): void {
    if (group.pumping || group.closed) return;
    group.pumping = true;
    void (async () => {
      try {
        while (group.queue.length > 0 && !group.closed) {
          const batch = group.queue.splice(0, this.maxBatch);
          this.release();
          try {
            await group.hooks.onDeliveries(batch);
          } catch (err) {
            // A handler failure is the handler's to report; redeliver rather than lose the batch.
            this.onHandlerError(err);
            group.queue.unshift(...batch);
            await new Promise((resolve) => setTimeout(resolve, 1_000));
          }
        }
      } finally {
        group.pumping = false;
        this.release();
      }
    })();
  }
}
