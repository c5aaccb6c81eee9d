import { Consumer, type Message, type MessagesStream } from '@platformatic/kafka';
import type { DeadLetterEvent } from '../../core/events.js';
import { ErrorCodes, TickflowError, errorMessage } from '../../core/errors.js';
import { retry, sleep } from '../../core/retry.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { subscriptionAwareAssigner } from './assigner.js';
import type { BusConsumer, BusEvent, ConsumerHooks, Delivery, TopicId } from '../bus.js';
import { decodeRecord } from './codec.js';
import { isAuthenticationFailure, kafkaCanRetry, kafkaFailureCauses } from './failures.js';
import { isUndecodable, type Received, ReceivedBuffer } from './received.js';
import type { KafkaSecurity } from './security.js';

type KafkaMessage = Message<Buffer, Buffer, Buffer, Buffer>;
type TopicPartition = { topic: TopicId; partition: number };

/**
 * How a Kafka consumer group member connects and what it reads (brokers, security, group, topics,
 * where to start, batch size).
 */
export interface GroupConsumerOptions {
  readonly brokers: readonly string[];
  /** TLS and SASL settings (bus.tls, bus.sasl). */
  readonly security: KafkaSecurity;
  readonly clientId: string;
  readonly group: string;
  /** Logical topic → Kafka topic name, for the subscribed topics only. */
  readonly topics: ReadonlyMap<TopicId, string>;
  readonly resetTo: 'latest' | 'earliest';
  readonly maxBatch: number;
  /** Called once the consumer has closed. */
  readonly onClosed: () => void;
  /** Publishes a dead letter and resolves once the broker acked it. */
  readonly deadLetter: (event: DeadLetterEvent) => Promise<void>;
}

/**
 * Upper bound of one fetch response, compressed (the library's default is 10 MiB). The library
 * turns a whole response into messages at once, past any pause, and the consumer decodes all of
 * it (receive): what is held ahead of the handler is the buffer's capacity plus one response.
 * Draining a backlog the store role peaked at 659 MiB RSS with 10 MiB fetches, 403–447 MiB with
 * 1 MiB (bench/store-role.ts, docs/benchmarks.md); 256 KiB is still ~8,000 lz4-compressed
 * trades per round trip.
 */
const MAX_FETCH_BYTES = 262_144;
/** Deliveries of `maxBatch` records decoded ahead of the handler before the fetches pause. */
const BUFFERED_BATCHES = 4;
const HANDLER_RETRY_INITIAL_MS = 500;
const HANDLER_RETRY_MAX_MS = 5_000;
const STREAM_RETRY_INITIAL_MS = 500;
const STREAM_RETRY_MAX_MS = 5_000;

/**
 * One member of a Kafka consumer group. Offsets are committed only through `commit` (autocommit
 * off); after a rebalance the stream restarts every partition from its committed offset, so
 * whatever was delivered but not committed is delivered again (at-least-once).
 */
export class KafkaGroupConsumer implements BusConsumer {
  private readonly consumer: Consumer<Buffer, Buffer, Buffer, Buffer>;
  private stream: MessagesStream<Buffer, Buffer, Buffer, Buffer> | undefined;
  private readonly logical = new Map<string, TopicId>();
  /** Decoded records waiting for the handler; the stream pauses while it is full. */
  private readonly buffer: ReceivedBuffer;
  private assigned: TopicPartition[] = [];
  /** Generation of the buffer: a rebalance discards what was fetched under the old assignment. */
  private epoch = 0;
  private wake: (() => void) | undefined;
  private pumping: Promise<void> | undefined;
  private membership: Promise<void> = Promise.resolve();
  private closed = false;
  /** Why this member stopped delivering for good (undefined while it works): /health reports it. */
  stoppedFor: string | undefined;
  /** Aborted by close(): ends the waits of the retry loops. */
  private readonly closing = new AbortController();
  /** Per partition: last offset handed to the hooks, and the next offset committed. */
  private readonly delivered = new Map<string, bigint>();
  private readonly committed = new Map<string, bigint>();
  /** Per partition: offsets of undecodable records already dead-lettered, to commit past. */
  private readonly skipped = new Map<string, bigint[]>();
  /** Per Kafka topic-partition: the highest offset received from the stream. */
  private readonly lastSeen = new Map<string, bigint>();

  constructor(
    private readonly options: GroupConsumerOptions,
    private readonly hooks: ConsumerHooks<BusEvent>,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    for (const [id, name] of options.topics) this.logical.set(name, id);
    this.buffer = new ReceivedBuffer(options.maxBatch * BUFFERED_BATCHES);
    this.consumer = new Consumer({
      clientId: options.clientId,
      bootstrapBrokers: [...options.brokers],
      ...options.security,
      groupId: options.group,
      autocommit: false,
      sessionTimeout: 10_000,
      heartbeatInterval: 1_000,
      rebalanceTimeout: 15_000,
      maxWaitTime: 200,
      maxBytes: MAX_FETCH_BYTES,
      partitionAssigner: subscriptionAwareAssigner,
    });
  }

  async start(): Promise<void> {
    // The library rejoins on its own; these two events bracket a rebalance.
    // The buffer is reset at once, not in the serialized hook step: records fetched after the
    // join must not be thrown away by a reset that runs late.
    this.consumer.on('consumer:group:rebalance', () => {
      this.resetBuffer();
      void this.serially(() => this.onRebalance());
    });
    this.consumer.on('consumer:group:join', () => {
      this.resetBuffer();
      void this.serially(() => this.onJoin());
    });
    await this.openStream();
    await this.serially(() => this.onJoin());
    this.pumping = this.pump();
  }

  private async openStream(): Promise<void> {
    const stream = await this.consumer.consume({
      topics: [...this.options.topics.values()],
      mode: 'committed',
      fallbackMode: this.options.resetTo,
      autocommit: false,
      maxWaitTime: 200,
      maxBytes: MAX_FETCH_BYTES,
    });
    this.stream = stream;
    stream.on('data', (message: KafkaMessage) => this.receive(message));
    stream.on('error', (err: unknown) => this.logger.error({ err: errorMessage(err) }, 'Kafka consumer stream failed'));
    // The library ends a stream on a fetch error (broker restart, network); a new stream
    // starts again from the committed offsets.
    stream.once('close', () => {
      if (!this.closed) void this.reopen();
    });
  }

  /**
   * Opens a new stream after the library ended one. Network trouble is waited out; credentials or
   * a certificate the broker refuses (kafkaCanRetry) stop the consumer with an error that says so,
   * since knocking again cannot change the answer.
   */
  private async reopen(): Promise<void> {
    await sleep(STREAM_RETRY_INITIAL_MS, this.closing.signal);
    try {
      await retry(
        async (attempt) => {
          if (this.closed) return;
          try {
            this.resetBuffer();
            await this.openStream();
            this.logger.info({ attempt }, 'Kafka consumer stream reopened');
          } catch (err) {
            throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `Kafka consumer stream cannot reopen: ${errorMessage(err)}`, {
              cause: err,
              canRetry: kafkaCanRetry(err),
            });
          }
        },
        {
          initialDelayMs: STREAM_RETRY_INITIAL_MS,
          maxDelayMs: STREAM_RETRY_MAX_MS,
          signal: this.closing.signal,
          onRetry: (err, attempt, delayMs) => this.logger.warn({ err: err.message, attempt, delayMs }, 'Kafka consumer stream cannot reopen yet'),
        },
      );
    } catch (err) {
      if (this.closed) return;
      const refused = isAuthenticationFailure(err) ? ' (bus.sasl.*: the broker refused the credentials)' : '';
      this.stoppedFor = `consumer group ${this.options.group} stopped: ${errorMessage(err)}${refused}`;
      this.logger.error(
        { err: errorMessage(err), causes: kafkaFailureCauses(err), group: this.options.group },
        `Kafka consumer stopped: retrying cannot help${refused}; fix the setting and restart the process`,
      );
    }
  }

  /**
   * After a rejoin the library re-reads each partition from its committed offset while a fetch
   * from before may still be answered, so a partition can rewind: what was buffered from the
   * rewind point on is dropped, keeping each partition's deliveries in offset order.
   */
  private receive(message: KafkaMessage): void {
    if (!this.owns(message.topic, message.partition)) return;
    const key = `${message.topic}:${message.partition}`;
    const last = this.lastSeen.get(key);
    this.lastSeen.set(key, message.offset);
    this.buffer.add(this.decode(message), last !== undefined && message.offset <= last);
    if (this.buffer.full && this.stream && !this.stream.isPaused()) {
      this.stream.pause();
      // The rest of the fetch response being handed over now waits in the stream's own buffer
      // as message objects (~8 Buffers, a Map and a bound function each: 33,000 of them, 24 MiB
      // of Buffers, in a heap snapshot of a backlog drain). Decoded, a record is a fraction of
      // that: the paused stream's buffer is read out right after, without fetching more. The
      // buffer then holds at most its capacity plus one fetch response.
      const stream = this.stream;
      process.nextTick(() => {
        while (stream.readableLength > 0 && stream.read() !== null);
      });
    }
    this.wake?.();
  }

  async commit(deliveries: readonly Delivery[]): Promise<void> {
    const highest = new Map<string, { topic: string; partition: number; offset: bigint }>();
    for (const d of deliveries) {
      const key = `${d.topic}:${d.partition}`;
      const current = highest.get(key);
      if (!current || current.offset < d.offset) highest.set(key, { topic: this.options.topics.get(d.topic)!, partition: d.partition, offset: d.offset });
    }
    await this.commitNext([...highest.entries()].map(([key, tp]) => ({ key, topic: tp.topic, partition: tp.partition, next: tp.offset + 1n })));
  }

  /**
   * What this member holds ahead of the handler: records decoded and waiting (`decoded`), the
   * Kafka client's message objects not yet handed over (`messages`), and whether fetching is
   * paused because the buffer is full.
   */
  held(): { decoded: number; messages: number; paused: boolean } {
    return { decoded: this.buffer.length, messages: this.stream?.readableLength ?? 0, paused: this.stream?.isPaused() ?? false };
  }

  /** Latest offset minus the group's committed offset, for the partitions this member owns. */
  async lag(): Promise<readonly { topic: TopicId; partition: number; lag: number; end: number }[]> {
    const owned = new Map<string, number[]>();
    for (const tp of this.assigned) {
      const name = this.options.topics.get(tp.topic)!;
      owned.set(name, [...(owned.get(name) ?? []), tp.partition]);
    }
    if (owned.size === 0) return [];
    const [latest, committed] = await Promise.all([
      this.consumer.listOffsets({ topics: [...owned.keys()] }),
      this.consumer.listCommittedOffsets({ topics: [...owned].map(([topic, partitions]) => ({ topic, partitions })) }),
    ]);
    const result: { topic: TopicId; partition: number; lag: number; end: number }[] = [];
    for (const [name, partitions] of owned) {
      for (const partition of partitions) {
        const end = latest.get(name)?.[partition] ?? 0n;
        const done = committed.get(name)?.[partition] ?? -1n;
        // No commit yet (-1): everything in the partition is still ahead of the group.
        const lag = Number(end - (done < 0n ? 0n : done));
        // The gauge is the sampler's (ops/process-metrics.ts): it knows what the group has processed.
        result.push({ topic: this.logical.get(name)!, partition, lag, end: Number(end) });
      }
    }
    return result;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.closing.abort();
    this.wake?.();
    await this.pumping;
    await this.serially(() => this.revoke(this.assigned));
    try {
      await this.stream?.close();
      await this.consumer.close(true);
    } catch (err) {
      // Leaving the group needs the broker; without it the session times out on its own.
      this.logger.warn({ err: errorMessage(err), group: this.options.group }, 'Kafka consumer closed without leaving its group');
    }
    this.options.onClosed();
  }

  /** Commits `next` per partition, moved past dead-lettered records that directly follow it. */
  private async commitNext(positions: { key: string; topic: string; partition: number; next: bigint }[]): Promise<void> {
    const offsets = positions.map((p) => {
      let next = p.next;
      const skipped = this.skipped.get(p.key);
      if (skipped) {
        while (skipped.length > 0 && skipped[0]! <= next) {
          if (skipped[0] === next) next++;
          skipped.shift();
        }
      }
      return { key: p.key, topic: p.topic, partition: p.partition, offset: next, leaderEpoch: -1 };
    });
    if (offsets.length === 0) return;
    try {
      await this.consumer.commit({ offsets: offsets.map(({ key: _key, ...o }) => o) });
    } catch (err) {
      // After a rebalance the old generation may no longer commit; the partition's new owner
      // re-reads from the last committed offset, so this costs duplicates, never loss.
      this.logger.warn({ err: errorMessage(err), group: this.options.group }, 'Kafka offset commit rejected');
      throw err;
    }
    for (const o of offsets) this.committed.set(o.key, o.offset);
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      if (this.buffer.length === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      const epoch = this.epoch;
      const received = this.buffer.take(this.options.maxBatch).filter((r) => this.owns(this.options.topics.get(r.topic)!, r.partition));
      if (this.buffer.length < this.options.maxBatch) this.stream?.resume();
      const batch = await this.deadLetterUndecodable(received).catch((err: unknown) => this.stopDelivering(err));
      if (batch === undefined) return;
      if (batch.length > 0 && !(await this.handOver(batch, epoch))) return;
      // After a rebalance the partition restarts from its committed offset: nothing to skip.
      if (epoch === this.epoch) await this.commitSkippedIfIdle();
    }
  }

  /**
   * Hands `batch` to the handler, retrying what the handler says a retry can help with (a database
   * outage) until it succeeds, the consumer closes or a rebalance makes the batch stale (its
   * partitions restart from the committed offsets). Returns false when the handler failed in a way
   * retrying cannot fix: the consumer then stops delivering and commits nothing past the batch.
   */
  private async handOver(batch: readonly Delivery<BusEvent>[], epoch: number): Promise<boolean> {
    try {
      await retry(
        async () => {
          if (this.closed || epoch !== this.epoch) return;
          await this.hooks.onDeliveries(batch);
          for (const d of batch) this.delivered.set(`${d.topic}:${d.partition}`, d.offset);
        },
        {
          initialDelayMs: HANDLER_RETRY_INITIAL_MS,
          maxDelayMs: HANDLER_RETRY_MAX_MS,
          signal: this.closing.signal,
          onRetry: (err, attempt, delayMs) =>
            this.logger.error({ err: err.message, group: this.options.group, attempt, delayMs }, 'consumer handler failed; retrying batch'),
        },
      );
      return true;
    } catch (err) {
      if (this.closed) return true;
      this.stoppedFor = `consumer group ${this.options.group} stopped delivering: ${errorMessage(err)}`;
      this.logger.error(
        { err: errorMessage(err), group: this.options.group },
        'consumer handler failed and retrying cannot help; the consumer stops delivering (nothing is committed past this batch)',
      );
      return false;
    }
  }

  /**
   * A dead letter the bus refused for good (the bus retries whatever a retry can help): the record
   * can neither be delivered nor committed past without losing it, so the consumer stops delivering
   * and says why (health reports stoppedFor) — before, the pump's rejection went unhandled and took
   * the process down, again on every restart.
   */
  private stopDelivering(err: unknown): undefined {
    if (this.closed) return undefined;
    this.stoppedFor = `consumer group ${this.options.group} stopped delivering: a dead letter could not be published: ${errorMessage(err)}`;
    this.logger.error(
      { err: errorMessage(err), group: this.options.group },
      'a dead letter could not be published and retrying cannot help; the consumer stops delivering (nothing is committed past the record)',
    );
    return undefined;
  }

  /** The message as a delivery, or why it is not one; the message itself is not kept. */
  private decode(m: KafkaMessage): Received {
    const topic = this.logical.get(m.topic)!;
    try {
      const key = m.key?.toString('utf8') ?? '';
      return { topic, partition: m.partition, offset: m.offset, key, event: decodeRecord(m.key && key, m.value, m.headers, topic) };
    } catch (error) {
      return { topic, partition: m.partition, offset: m.offset, error, raw: m.value?.toString('utf8') ?? '' };
    }
  }

  /** The deliveries among `received`; each undecodable record becomes a dead letter, committed past later. */
  private async deadLetterUndecodable(received: readonly Received[]): Promise<Delivery<BusEvent>[]> {
    const batch: Delivery<BusEvent>[] = [];
    for (const r of received) {
      if (!isUndecodable(r)) {
        batch.push(r);
        continue;
      }
      const origin = `kafka:${this.options.topics.get(r.topic)!}`;
      const reason = 'undecodable_record';
      await this.options.deadLetter({
        type: 'deadLetter',
        origin,
        reason,
        detail: `${errorMessage(r.error)} (partition ${r.partition}, offset ${r.offset})`,
        raw: r.raw,
        receivedAt: Date.now(),
      });
      this.metrics.deadLetters.inc({ origin, reason });
      const tp = `${r.topic}:${r.partition}`;
      const list = this.skipped.get(tp) ?? [];
      list.push(r.offset);
      this.skipped.set(tp, list);
    }
    return batch;
  }

  /**
   * A dead-lettered record is committed past right away when nothing delivered before it in its
   * partition is still waiting for the handler's commit; otherwise the handler's next commit
   * carries it along (commitNext).
   */
  private async commitSkippedIfIdle(): Promise<void> {
    const positions: { key: string; topic: string; partition: number; next: bigint }[] = [];
    for (const [key, skipped] of this.skipped) {
      if (skipped.length === 0) continue;
      const delivered = this.delivered.get(key);
      const committed = this.committed.get(key);
      if (delivered !== undefined && (committed === undefined || committed <= delivered)) continue;
      const [topic, partition] = splitKey(key);
      positions.push({ key, topic: this.options.topics.get(topic)!, partition, next: skipped[0]! });
    }
    if (positions.length > 0) await this.commitNext(positions).catch(() => {});
  }

  /** Drops what was fetched but not yet delivered; the stream re-reads it from the committed offsets. */
  private resetBuffer(): void {
    this.epoch++;
    this.buffer.clear();
    this.lastSeen.clear();
    this.delivered.clear();
    this.committed.clear();
    this.skipped.clear();
    // receive() pauses the stream while the buffer is full and only the pump resumes it, once it
    // takes from the buffer: emptied here, nothing would, and the member would stall for good.
    this.stream?.resume();
  }

  /** Whether the library's current assignment includes the partition (`topic`: the Kafka topic name). */
  private owns(topic: string, partition: number): boolean {
    return (this.consumer.assignments ?? []).some((a) => a.topic === topic && a.partitions.includes(partition));
  }

  /** Membership changes run one at a time, in the order the library reported them. */
  private serially(step: () => Promise<void>): Promise<void> {
    this.membership = this.membership.then(step);
    return this.membership;
  }

  private async onRebalance(): Promise<void> {
    // Eager rebalance: every partition goes back to the group, and the stream restarts from the
    // committed offsets after the join, so what was fetched but not delivered is dropped.
    await this.revoke(this.assigned);
    this.assigned = [];
  }

  private async onJoin(): Promise<void> {
    const assigned: TopicPartition[] = [];
    for (const a of this.consumer.assignments ?? []) {
      const topic = this.logical.get(a.topic);
      if (topic) for (const partition of a.partitions) assigned.push({ topic, partition });
    }
    const previous = new Set(this.assigned.map((tp) => `${tp.topic}:${tp.partition}`));
    const now = new Set(assigned.map((tp) => `${tp.topic}:${tp.partition}`));
    await this.revoke(this.assigned.filter((tp) => !now.has(`${tp.topic}:${tp.partition}`)));
    this.assigned = assigned;
    const added = assigned.filter((tp) => !previous.has(`${tp.topic}:${tp.partition}`));
    if (added.length > 0) await this.callHook('onAssign', added);
  }

  private async revoke(partitions: TopicPartition[]): Promise<void> {
    if (partitions.length > 0) await this.callHook('onRevoke', partitions);
  }

  private async callHook(name: 'onAssign' | 'onRevoke', partitions: TopicPartition[]): Promise<void> {
    try {
      await this.hooks[name]?.(partitions);
    } catch (err) {
      this.logger.error({ err: errorMessage(err), group: this.options.group }, `consumer ${name} hook failed`);
    }
  }
}

function splitKey(key: string): [TopicId, number] {
  const i = key.lastIndexOf(':');
  return [key.slice(0, i) as TopicId, Number(key.slice(i + 1))];
}
