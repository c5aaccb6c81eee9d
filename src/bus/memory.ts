import { monotonicMs } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Metrics } from '../ops/metrics.js';
import type { PipelineEvent } from '../core/events.js';
import { retry } from '../core/retry.js';
import type { Bus, BusConsumer, BusEvent, ConsumerHooks, ConsumerOptions, Delivery, TopicId } from './bus.js';
import { busKey, topicOf } from './bus.js';

const HANDLER_RETRY_INITIAL_MS = 500;
const HANDLER_RETRY_MAX_MS = 5_000;

interface Group {
  readonly name: string;
  readonly topics: ReadonlySet<TopicId>;
  readonly hooks: ConsumerHooks<BusEvent>;
  readonly queue: Delivery<BusEvent>[];
  pumping: boolean;
  closed: boolean;
  /** Why the handler failed in a way retrying cannot fix (see handOver); undefined while it works. */
  failed: string | undefined;
  /** Aborted when the group closes: ends a retry wait. */
  readonly closing: AbortController;
  committed: Map<TopicId, bigint>;
}

/**
 * A delivery of the in-process bus. Its key is computed only when read: no in-process consumer
 * reads it, and building `exchange:market:symbol` for every event was work for nothing.
 */
class MemoryDelivery implements Delivery<BusEvent> {
  readonly partition = 0;

  constructor(
    readonly topic: TopicId,
    readonly offset: bigint,
    readonly event: BusEvent,
  ) {}

  get key(): string {
    return busKey(this.event);
  }
}

/**
 * The embedded bus: one partition per topic, bounded per consumer group. `publish` waits while
 * any group's queue is full, so a slow writer slows the source instead of growing memory.
 *
 * Events published to an idle group are handed over once `lingerMs` has passed since the first of
 * them or `maxBatch` are queued, whichever comes first (`bus.lingerMs`, as the Kafka producer
 * batches); a group still busy with the previous batch gets what queued meanwhile at once. Without
 * the wait, a frame at a time went through every consumer at low rates: at 2,000 frames/s the store
 * writer ran a transaction per few rows and `tickflow run` spent 107 µs of CPU per frame, against
 * 24 µs at 20,000 frames/s (docs/benchmarks.md, "Embedded run (issue 14)").
 */
export class MemoryBus implements Bus {
  readonly kind = 'memory' as const;
  private readonly groups = new Map<string, Group>();
  private readonly offsets = new Map<TopicId, bigint>();
  private readonly waiters: (() => void)[] = [];
  /** Hands the queued events over when the linger time of the first of them has passed. */
  private lingering: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly capacity = 50_000,
    private readonly maxBatch = 1_000,
    /** Told about each handler failure, and whether the batch is retried. */
    private readonly onHandlerError: (err: unknown, retrying: boolean) => void = () => {},
    private readonly metrics?: Pick<Metrics, 'eventsProduced' | 'produceLatency'>,
    /** Longest wait (ms) of a published event before an idle group is handed it; 0: at once. */
    private readonly lingerMs = 0,
  ) {}

  /** False once closed, or once a consumer group failed for good (the events wait in its queue). */
  writable(): boolean {
    return !this.closed && this.failure() === undefined;
  }

  failure(): string | undefined {
    return [...this.groups.values()].find((g) => g.failed !== undefined)?.failed;
  }

  async publish(events: readonly BusEvent[]): Promise<void> {
    const started = monotonicMs();
    while (!this.closed && this.fullest() + events.length > this.capacity && this.fullest() > 0) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.closed) throw new Error('bus closed');
    // Per topic of the batch: events published, counted once (a prom-client inc hashes its labels
    // on every call), and the groups reading it, looked up once instead of per event.
    const produced = new Map<TopicId, { n: number; next: bigint; readers: Group[] }>();
    for (const event of events) {
      const topic = topicOf(event);
      let seen = produced.get(topic);
      if (seen === undefined) {
        seen = { n: 0, next: this.offsets.get(topic) ?? 0n, readers: [...this.groups.values()].filter((g) => g.topics.has(topic)) };
        produced.set(topic, seen);
      }
      const delivery = new MemoryDelivery(topic, seen.next, event);
      seen.next++;
      seen.n++;
      for (const group of seen.readers) group.queue.push(delivery);
    }
    for (const [topic, { n, next }] of produced) {
      this.offsets.set(topic, next);
      this.metrics?.eventsProduced.inc({ topic }, n);
    }
    if (this.lingerMs === 0 || this.fullest() >= this.maxBatch) this.handOverAll();
    else this.lingering ??= setTimeout(() => this.handOverAll(), this.lingerMs);
    this.metrics?.produceLatency.observe((monotonicMs() - started) / 1000);
  }

  async subscribe<E extends BusEvent = PipelineEvent>(options: ConsumerOptions, typedHooks: ConsumerHooks<E>): Promise<BusConsumer> {
    // A group only subscribes to topics that carry E, so every delivery it is handed is an E.
    const hooks = typedHooks as unknown as ConsumerHooks<BusEvent>;
    if (this.groups.has(options.group)) throw new Error(`consumer group ${options.group} already subscribed`);
    const group: Group = {
      name: options.group,
      topics: new Set(options.topics),
      hooks,
      queue: [],
      pumping: false,
      closed: false,
      failed: undefined,
      closing: new AbortController(),
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
        group.closing.abort();
        await hooks.onRevoke?.(options.topics.map((topic) => ({ topic, partition: 0 })));
        this.groups.delete(options.group);
        this.release();
      },
    };
  }

  /** Resolves once every group has handed all published events to its handler. */
  async drain(only?: Group): Promise<void> {
    // What lingers is handed over now: whoever drains wants it delivered, not batched.
    this.handOverAll();
    const groups = only ? [only] : [...this.groups.values()];
    // A failed group never empties its queue; waiting for it would hang shutdown.
    while (groups.some((g) => g.failed === undefined && (g.queue.length > 0 || g.pumping))) {
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

  private handOverAll(): void {
    clearTimeout(this.lingering);
    this.lingering = undefined;
    for (const group of this.groups.values()) this.pump(group);
  }

  private release(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private pump(group: Group): void {
    if (group.pumping || group.closed || group.failed !== undefined) return;
    group.pumping = true;
    void (async () => {
      try {
        while (group.queue.length > 0 && !group.closed) {
          const batch = group.queue.splice(0, this.maxBatch);
          this.release();
          if (!(await this.handOver(group, batch))) return;
        }
      } finally {
        group.pumping = false;
        this.release();
      }
    })();
  }

  /**
   * Hands `batch` to the group's handler, retrying what the handler says a retry can help with.
   * A failure retrying cannot fix fails the group: its batch stays queued (never lost, never
   * committed), its full queue then holds `publish` back, `writable()` turns false (health shows
   * the bus down) and `drain` stops waiting for it, so shutdown still ends.
   */
  private async handOver(group: Group, batch: Delivery<BusEvent>[]): Promise<boolean> {
    try {
      await retry(
        async () => {
          if (!group.closed) await group.hooks.onDeliveries(batch);
        },
        {
          initialDelayMs: HANDLER_RETRY_INITIAL_MS,
          maxDelayMs: HANDLER_RETRY_MAX_MS,
          signal: group.closing.signal,
          onRetry: (err) => this.onHandlerError(err, true),
        },
      );
      return true;
    } catch (err) {
      group.queue.unshift(...batch);
      if (group.closed) return false;
      group.failed = `consumer group ${group.name} stopped delivering: ${errorMessage(err)}`;
      this.onHandlerError(err, false);
      return false;
    }
  }
}
