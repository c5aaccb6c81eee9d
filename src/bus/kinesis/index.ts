import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type KinesisClient, type ShardIteratorType } from '@aws-sdk/client-kinesis';
import type { Config } from '../../config/schema.js';
import { ErrorCodes, errorMessage, TickflowError } from '../../core/errors.js';
import type { PipelineEvent } from '../../core/events.js';
import { sleep } from '../../core/retry.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { createKinesisClient } from '../../sinks/kinesis/client.js';
import { KinesisSink } from '../../sinks/kinesis/index.js';
import { kinesisSinkOptions } from '../../sinks/options.js';
import type { SinkDeps } from '../../sinks/sink.js';
import type { Queryable } from '../../store/database.js';
import { type Bus, type BusConsumer, type BusEvent, busKey, type ConsumerHooks, type ConsumerOptions, type Delivery, type TopicId, topicOf } from '../bus.js';
import { decodeBusEvent } from '../kafka/codec.js';
import { loadCheckpoints, saveCheckpoints } from './checkpoints.js';

/** What the Kinesis bus logs, measures and keeps its dead letters and checkpoints with. */
export interface KinesisBusDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** store.dataDir: the producer's dead-letter file. */
  readonly dataDir: string;
  /** Where consumer groups keep their per-shard checkpoints (migration 008); publish-only without it. */
  readonly checkpoints?: Queryable;
  readonly awsCredentials?: SinkDeps['awsCredentials'];
}

/**
 * Kinesis as the bus between roles (`bus.kind=kinesis`, docs/kinesis.md "Kinesis as the bus"):
 * one stream carries every topic, in the Kafka records' JSON (its `type` says the topic; signals
 * included, which the sinks' Avro schemas do not cover). Publishing is the Kinesis sink's
 * batching, retries and dead letters, resolved once the records are accepted. Each consumer group
 * reads every open shard from its checkpoint in PostgreSQL; one process per group (no shard
 * leases), no resharding.
 */
export class KinesisBus implements Bus {
  readonly kind = 'kinesis';
  private readonly producer: KinesisSink;
  private readonly client: KinesisClient;
  private readonly options: Config['bus']['kinesis'];
  private readonly autoOffsetReset: Config['bus']['autoOffsetReset'];
  private readonly consumers = new Set<ShardConsumers>();

  constructor(
    config: Config['bus'],
    private readonly deps: KinesisBusDeps,
  ) {
    this.options = config.kinesis;
    this.autoOffsetReset = config.autoOffsetReset;
    const { streamName, region, endpoint } = config.kinesis;
    this.producer = new KinesisSink(
      kinesisSinkOptions.parse({
        kind: 'kinesis',
        name: 'bus',
        codec: 'json',
        streamName,
        region,
        endpoint,
        heartbeatStreamName: '',
        batchMs: Math.max(1, config.lingerMs),
        maxBufferedRecords: config.maxBufferedEvents,
      }),
      deps,
    );
    this.client = createKinesisClient({ region, endpoint, requestTimeoutMs: 10_000 }, deps.awsCredentials);
  }

  /** Resolves once Kinesis accepted the events (or, after the last retry, they are dead letters on disk). */
  async publish(events: readonly BusEvent[]): Promise<void> {
    // The JSON codec is the Kafka record value, which encodes signals too (encodeEvent takes any BusEvent).
    await this.producer.publish(events as readonly PipelineEvent[]);
    await this.producer.flush();
  }

  async subscribe<E extends BusEvent = PipelineEvent>(options: ConsumerOptions, hooks: ConsumerHooks<E>): Promise<BusConsumer> {
    const db = this.deps.checkpoints;
    if (db === undefined) throw new TickflowError(ErrorCodes.CONFIG_INVALID, 'bus.kind=kinesis: a consumer needs the database for its shard checkpoints');
    const described = await this.client.send(new DescribeStreamCommand({ StreamName: this.options.streamName }));
    // Open shards only (no ending sequence number): resharding is not followed (docs/kinesis.md).
    const shards = (described.StreamDescription?.Shards ?? []).filter((s) => s.SequenceNumberRange?.EndingSequenceNumber === undefined).map((s) => s.ShardId!);
    const saved = await loadCheckpoints(db, options.group, this.options.streamName);
    const log = this.deps.logger.child({ component: 'kinesis-bus', group: options.group });
    // Deliveries carry the topics subscribed to, which is what E names.
    const consumer = new ShardConsumers(
      this.client,
      db,
      this.options,
      options,
      hooks as unknown as ConsumerHooks<BusEvent>,
      shards,
      saved,
      this.autoOffsetReset,
      log,
    );
    await hooks.onAssign?.(consumer.partitions());
    consumer.start();
    this.consumers.add(consumer);
    return consumer;
  }

  writable(): boolean {
    return this.producer.health().state !== 'down';
  }

  failure(): string | undefined {
    return [...this.consumers].find((c) => c.stoppedFor !== undefined)?.stoppedFor;
  }

  async close(): Promise<void> {
    await this.producer.close();
    this.client.destroy();
  }
}

/** One consumer group's readers, one per shard; deliveries are handed over one batch at a time. */
class ShardConsumers implements BusConsumer {
  private readonly stop = new AbortController();
  /** Why the group stopped for good (a failure no retry fixes); undefined while it works. */
  stoppedFor: string | undefined;
  private loops: Promise<void>[] = [];
  private chain: Promise<void> = Promise.resolve();
  /** Per shard, the real sequence numbers delivered and not yet covered by a checkpoint, ascending. */
  private readonly delivered: bigint[][];
  private readonly topics: ReadonlySet<TopicId>;

  constructor(
    private readonly client: KinesisClient,
    private readonly db: Queryable,
    private readonly bus: Config['bus']['kinesis'],
    private readonly options: ConsumerOptions,
    private readonly hooks: ConsumerHooks<BusEvent>,
    private readonly shards: readonly string[],
    private readonly saved: ReadonlyMap<string, string>,
    private readonly autoOffsetReset: Config['bus']['autoOffsetReset'],
    private readonly log: Logger,
  ) {
    this.delivered = shards.map(() => []);
    this.topics = new Set(options.topics);
  }

  partitions(): { topic: TopicId; partition: number }[] {
    return this.options.topics.flatMap((topic) => this.shards.map((_, partition) => ({ topic, partition })));
  }

  start(): void {
    this.loops = this.shards.map((shard, i) => this.read(shard, i));
  }

  /**
   * Checkpoints, per shard, the greatest *delivered* sequence number at or below the committed
   * offset: the stream processor commits below its open windows (offset − 1), which is no
   * sequence number Kinesis knows; reading again from a real one is what AFTER_SEQUENCE_NUMBER needs.
   */
  async commit(deliveries: readonly Pick<Delivery<BusEvent>, 'partition' | 'offset'>[]): Promise<void> {
    const highest = new Map<number, bigint>();
    for (const d of deliveries) if ((highest.get(d.partition) ?? -1n) < d.offset) highest.set(d.partition, d.offset);
    const positions = new Map<string, bigint>();
    for (const [partition, offset] of highest) {
      const seqs = this.delivered[partition];
      if (seqs === undefined) continue;
      let at = -1;
      for (let i = 0; i < seqs.length && seqs[i]! <= offset; i++) at = i;
      if (at < 0) continue;
      positions.set(this.shards[partition]!, seqs[at]!);
      seqs.splice(0, at);
    }
    await saveCheckpoints(this.db, this.options.group, this.bus.streamName, positions);
  }

  /** Unknown: Kinesis tells how far behind in time a reader is (MillisBehindLatest), not in records. */
  async lag(): ReturnType<BusConsumer['lag']> {
    return [];
  }

  async close(): Promise<void> {
    this.stop.abort();
    await Promise.all(this.loops);
    await this.chain;
    await this.hooks.onRevoke?.(this.partitions());
  }

  private async iterator(shard: string, after: string | undefined): Promise<string | undefined> {
    const earliest = this.options.fromBeginning === true || this.autoOffsetReset === 'earliest';
    const type: ShardIteratorType = after !== undefined ? 'AFTER_SEQUENCE_NUMBER' : earliest ? 'TRIM_HORIZON' : 'LATEST';
    const out = await this.client.send(
      new GetShardIteratorCommand({
        StreamName: this.bus.streamName,
        ShardId: shard,
        ShardIteratorType: type,
        ...(after !== undefined ? { StartingSequenceNumber: after } : {}),
      }),
    );
    return out.ShardIterator;
  }

  /** Reads one shard until closed; a failed read starts again after the last record handed over. */
  private async read(shard: string, partition: number): Promise<void> {
    let last = this.saved.get(shard);
    let iterator: string | undefined;
    while (!this.stop.signal.aborted) {
      try {
        iterator ??= await this.iterator(shard, last);
        if (iterator === undefined) return; // a closed shard read to its end
        const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1_000 }));
        iterator = page.NextShardIterator;
        const records = page.Records ?? [];
        if (records.length === 0) {
          await sleep(this.bus.pollMs, this.stop.signal);
          continue;
        }
        const batch: Delivery<BusEvent>[] = [];
        for (const r of records) {
          const offset = BigInt(r.SequenceNumber!);
          this.delivered[partition]!.push(offset);
          const event = this.decode(Buffer.from(r.Data!), shard, r.SequenceNumber!);
          const topic = topicOf(event);
          if (this.topics.has(topic)) batch.push({ topic, partition, offset, key: busKey(event), event });
        }
        if (batch.length > 0) await this.hand(batch);
        last = records.at(-1)!.SequenceNumber;
      } catch (err) {
        this.log.warn({ shard, err: errorMessage(err) }, 'shard read failed; reading again from the last record handed over');
        iterator = undefined;
        await sleep(1_000, this.stop.signal);
      }
    }
  }

  /** A record that does not decode is handed on as a dead letter: counted and stored, never skipped. */
  private decode(data: Buffer, shard: string, seq: string): BusEvent {
    try {
      return decodeBusEvent(data, undefined);
    } catch (err) {
      return {
        type: 'deadLetter',
        origin: `kinesis:${this.bus.streamName}`,
        reason: 'undecodable_record',
        detail: `${shard} ${seq}: ${errorMessage(err)}`,
        raw: data.toString('base64'),
        receivedAt: Date.now(),
      };
    }
  }

  /**
   * Hands a batch to the group, one batch at a time across shards. A failure a retry can help with
   * (`canRetry`) hands it again; any other stops the group, as on the other buses: nothing after it
   * is committed, so the next start reads it again from the checkpoint.
   */
  private hand(batch: Delivery<BusEvent>[]): Promise<void> {
    const run = this.chain.then(async () => {
      for (;;) {
        try {
          await this.hooks.onDeliveries(batch);
          return;
        } catch (err) {
          const retrying = err instanceof TickflowError && err.canRetry && !this.stop.signal.aborted;
          this.log.error(
            { err: errorMessage(err) },
            retrying ? 'consumer failed on a batch; handing it again' : 'consumer failed on a batch and retrying cannot help; the group stops',
          );
          if (!retrying) {
            this.stoppedFor = `consumer group ${this.options.group} stopped delivering: ${errorMessage(err)}`;
            this.stop.abort();
            throw err;
          }
          await sleep(1_000, this.stop.signal);
        }
      }
    });
    this.chain = run.catch(() => undefined);
    return run;
  }
}
