import { createAPI, murmur2, type Producer, ProduceAcks, produceV7, produceV8, produceV9, ResponseError, Writer } from '@platformatic/kafka';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import type { EncodedRecord } from './codec.js';
import { type BatchRecord, encodeRecordBatch } from './record-batch.js';

/**
 * The idempotent produce path of KafkaPublisher, with record batches written by record-batch.ts
 * instead of @platformatic/kafka's per-record encoder. The library still does everything around
 * it — connections (TLS, SASL), metadata, the producer id (InitProducerId) and the response
 * parser — through its public API; this module keeps what an idempotent producer owns (Kafka
 * protocol guide, "Idempotent producer"; KIP-98):
 * - a sequence number per partition, starting at 0 for a producer id and advanced by the records
 *   the broker acknowledged (wrapping at 2^31 as Java's client does), written into each batch;
 * - a delivery that is retried sends again, with the same sequence, only the partitions the
 *   broker has not acknowledged, so the broker drops a batch it already wrote instead of storing
 *   it twice, and never sees a gap;
 * - one request in flight at a time (KafkaPublisher sends one delivery at a time), so the batches
 *   of a partition reach the broker in order.
 * - a partition whose sequence the broker refuses (OUT_OF_ORDER_SEQUENCE_NUMBER, UNKNOWN_PRODUCER_ID:
 *   it expired or lost this producer's state there) makes the sender take a new producer id, which
 *   starts every partition at 0, instead of failing the batch for good.
 */

/** How batches are compressed and how long the broker may take to replicate them (acks=all). */
export interface BatchSenderOptions {
  readonly compression: 'lz4' | 'none';
  /** The produce request's timeout_ms: how long the leader waits for the in-sync replicas. */
  readonly timeoutMs: number;
}

type ProduceResponse = produceV9.ProduceResponse;

type ProduceApi = (
  connection: unknown,
  acks: number,
  timeoutMs: number,
  topics: readonly TopicBatches[],
  flexible: boolean,
  cb: (error: Error | null, response?: ProduceResponse) => void,
) => void;

interface TopicBatches {
  readonly topic: string;
  readonly partitions: readonly { readonly partition: number; readonly batch: Buffer }[];
}

/**
 * The Produce versions whose responses the library parses correctly: 7–9. From 9 on the request
 * is "flexible" (compact fields, tagged fields). 10 and 11 (KIP-951) answer NOT_LEADER_OR_FOLLOWER
 * with a CurrentLeader tagged field, and the library's Reader.readTaggedFields (1.35) reads the
 * field count as a byte length, so such a response — common right after topics are created —
 * fails to parse ("Out of bounds") instead of saying "retry"; 9 carries nothing this sender uses less.
 */
const PARSERS = { 7: produceV7, 8: produceV8, 9: produceV9 } as const;
const LAST_VERSION = 9;
const FIRST_FLEXIBLE = 9;
/** Kafka sequence numbers are int32 and wrap to 0 after 2^31 − 1. */
const SEQUENCE_WRAP = 2 ** 31;

/** Produce request (v7–v9): transactional_id acks timeout_ms [topic_data [partition_data index records]]. */
function produceRequest(acks: number, timeoutMs: number, topics: readonly TopicBatches[], flexible: boolean): Writer {
  const writer = Writer.create()
    .appendString(null, flexible)
    .appendInt16(acks)
    .appendInt32(timeoutMs)
    .appendArray(
      [...topics],
      (w, t) => {
        w.appendString(t.topic, flexible).appendArray(
          [...t.partitions],
          (w, p) => {
            w.appendInt32(p.partition);
            if (flexible) w.appendUnsignedVarInt(p.batch.length + 1);
            else w.appendInt32(p.batch.length);
            w.append(p.batch);
          },
          flexible,
          flexible,
        );
      },
      flexible,
      flexible,
    );
  return flexible ? writer.appendTaggedFields() : writer;
}

/**
 * Sends records as idempotent, acks=all record batches over a @platformatic/kafka Producer's
 * connections. Partitions are Java's (murmur2 of the key, sign bit masked, modulo the partition
 * count), so every client — console producer, librdkafka, kafkajs — puts an instrument on the same
 * partition.
 */
export class BatchSender {
  private readonly sequences = new Map<string, number>();
  /**
   * Set when a delivery was given up with partitions unacknowledged: the broker may have written
   * them (an answer lost or unreadable) without this sender advancing their sequences, so a next
   * batch of as many records would carry the same sequence and be dropped by the broker as a
   * duplicate. The next send takes a new producer id instead, as Java's client bumps its epoch.
   */
  private renewProducerId = false;
  private api: { readonly send: ProduceApi; readonly flexible: boolean } | undefined;

  constructor(
    private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>,
    private readonly options: BatchSenderOptions,
  ) {}

  /**
   * A delivery of `records` (in order per partition). Each `attempt()` sends the partitions the
   * broker has not acknowledged yet and resolves when all are; it rejects with the first failure
   * (a library error; KafkaPublisher decides whether to retry). The records are split into
   * partitions on the first attempt that reaches the broker, then stay there, so a retry sends
   * every record to the partition — and with the sequence — it was first meant for.
   */
  delivery(records: readonly EncodedRecord[]): Delivery {
    let pending: Map<string, PartitionBatch> | undefined;
    return {
      attempt: async () => {
        pending ??= await this.split(records);
        if (pending.size === 0) return;
        try {
          await this.produce(pending);
        } catch (err) {
          // A leader that moved (or is not elected yet for new topics) is found in fresh metadata
          // at once, as the library's own send does (repeatOnStaleMetadata); anything else goes
          // to the publisher's backoff.
          if (!hasStaleMetadata(err)) throw err;
          this.producer.clearMetadata();
          await this.produce(pending);
        }
      },
      abandon: () => {
        if (pending !== undefined && pending.size > 0) this.renewProducerId = true;
      },
    };
  }

  private async split(records: readonly EncodedRecord[]): Promise<Map<string, PartitionBatch>> {
    const metadata = await this.producer.metadata({ topics: [...new Set(records.map((r) => r.topic))] });
    const out = new Map<string, PartitionBatch>();
    // Per topic and key Buffer (one per instrument): the partition is looked up once per instrument, not per record.
    const byKey = new Map<string, Map<Buffer, PartitionBatch>>();
    for (const record of records) {
      const inTopic = byKey.get(record.topic) ?? new Map<Buffer, PartitionBatch>();
      if (inTopic.size === 0) byKey.set(record.topic, inTopic);
      const known = inTopic.get(record.key);
      if (known !== undefined) {
        known.records.push(record);
        continue;
      }
      const count = metadata.topics.get(record.topic)?.partitionsCount;
      if (count === undefined) throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `Kafka has no topic ${record.topic}`, { canRetry: true });
      // Java's DefaultPartitioner for keyed records: murmur2 of the key, sign bit masked.
      const partition = (murmur2(record.key) & 0x7fffffff) % count;
      const id = partitionId(record.topic, partition);
      const batch = out.get(id) ?? { id, topic: record.topic, partition, records: [] };
      if (batch.records.length === 0) out.set(id, batch);
      batch.records.push(record);
      inTopic.set(record.key, batch);
    }
    return out;
  }

  private async produce(byPartition: Map<string, PartitionBatch>): Promise<void> {
    const api = await this.produceApi();
    if (this.renewProducerId) {
      await this.producer.initIdempotentProducer({});
      this.sequences.clear();
      this.renewProducerId = false;
    }
    const producerId = this.producer.producerId ?? (await this.producer.initIdempotentProducer({})).producerId;
    const producerEpoch = this.producer.producerEpoch ?? 0;
    const metadata = await this.producer.metadata({ topics: [...new Set([...byPartition.values()].map((p) => p.topic))] });
    const byLeader = groupBy([...byPartition.values()], (batch) => {
      const leader = metadata.topics.get(batch.topic)?.partitions[batch.partition]?.leader;
      if (leader === undefined)
        throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `no leader known for ${batch.topic}:${batch.partition}`, { canRetry: true });
      return leader;
    });
    const timestampMs = Date.now();
    const sent = await Promise.allSettled(
      [...byLeader].map(async ([leader, batches]) => {
        const connection = (await this.producer.connectToBrokers([leader])).get(leader);
        if (connection === undefined) throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `no connection to Kafka broker ${leader}`, { canRetry: true });
        const request = [...groupBy(batches, (b) => b.topic)].map(([topic, inTopic]) => ({
          topic,
          partitions: inTopic.map((b) => ({
            partition: b.partition,
            batch: encodeRecordBatch(b.records, {
              producerId,
              producerEpoch,
              baseSequence: this.sequences.get(b.id) ?? 0,
              timestampMs,
              compression: this.options.compression,
            }),
          })),
        }));
        const response = await new Promise<ProduceResponse | undefined>((resolve, reject) =>
          api.send(connection, ProduceAcks.ALL, this.options.timeoutMs, request, api.flexible, (error, result) => {
            // A response with errors for some partitions still acknowledges the others.
            if (error instanceof ResponseError) this.acknowledge(byPartition, (error as { response?: ProduceResponse }).response);
            if (error) reject(error);
            else resolve(result);
          }),
        );
        this.acknowledge(byPartition, response);
      }),
    );
    const failed = sent.find((s): s is PromiseRejectedResult => s.status === 'rejected');
    if (failed === undefined) return;
    if (hasStaleMetadata(failed.reason)) this.producer.clearMetadata();
    if (lostSequence(failed.reason)) {
      // The broker has no (or other) sequence state for this producer on a partition — e.g. it
      // expired it after producer.id.expiration.ms without a write there (a quiet gaps or
      // dead-letter partition) — and refuses the batch; resending it could never succeed. A new
      // producer id starts every partition at sequence 0 again. A batch written before whose
      // answer was lost may then be written twice: at least once, as the consumers expect.
      await this.producer.initIdempotentProducer({});
      this.sequences.clear();
      throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, 'the Kafka broker lost the producer sequence of a partition; sending again with a new producer id', {
        cause: failed.reason,
        canRetry: true,
      });
    }
    throw failed.reason;
  }

  /** Marks the partitions the response acknowledged as done and advances their sequence. */
  private acknowledge(byPartition: Map<string, PartitionBatch>, response: ProduceResponse | undefined): void {
    for (const topic of response?.responses ?? []) {
      for (const p of topic.partitionResponses) {
        if (p.errorCode !== 0) continue;
        const id = partitionId(topic.name, p.index);
        const batch = byPartition.get(id);
        if (batch === undefined) continue;
        byPartition.delete(id);
        this.sequences.set(id, ((this.sequences.get(id) ?? 0) + batch.records.length) % SEQUENCE_WRAP);
      }
    }
  }

  /** The highest Produce version up to 9 the broker knows (PARSERS says why not 10 or 11). */
  private async produceApi(): Promise<{ readonly send: ProduceApi; readonly flexible: boolean }> {
    if (this.api !== undefined) return this.api;
    const apis = await this.producer.listApis();
    const produce = apis.find((a) => a.apiKey === 0);
    const version = Math.min(produce?.maxVersion ?? -1, LAST_VERSION);
    if (produce === undefined || version < 7 || version < produce.minVersion) {
      throw new TickflowError(
        ErrorCodes.BUS_UNAVAILABLE,
        `the Kafka broker's Produce versions (${produce?.minVersion}–${produce?.maxVersion}) do not include 7–9 (Kafka ≥ 2.1 needed)`,
        {
          canRetry: false,
        },
      );
    }
    const parser = PARSERS[version as keyof typeof PARSERS];
    this.api = { send: createAPI(0, version, produceRequest, parser.parseResponse) as unknown as ProduceApi, flexible: version >= FIRST_FLEXIBLE };
    return this.api;
  }
}

/**
 * A batch of records being delivered (BatchSender.delivery): `attempt()` sends what the broker has
 * not acknowledged yet; `abandon()` says no attempt will follow, so the sender's next send starts
 * a new producer id if anything of this delivery stayed unacknowledged.
 */
export interface Delivery {
  attempt(): Promise<void>;
  abandon(): void;
}

/** The records of one delivery that go to one partition. */
interface PartitionBatch {
  readonly id: string;
  readonly topic: string;
  readonly partition: number;
  readonly records: BatchRecord[];
}

function groupBy<T, K>(items: readonly T[], keyOf: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [item]);
    else group.push(item);
  }
  return groups;
}

function partitionId(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

/** OUT_OF_ORDER_SEQUENCE_NUMBER (45) or UNKNOWN_PRODUCER_ID (59) in a produce answer. */
function lostSequence(err: unknown): boolean {
  const e = err as { apiCode?: number; errors?: unknown[] };
  return e?.apiCode === 45 || e?.apiCode === 59 || (Array.isArray(e?.errors) && e.errors.some(lostSequence));
}

function hasStaleMetadata(err: unknown): boolean {
  const e = err as { hasStaleMetadata?: boolean; errors?: unknown[] };
  return e?.hasStaleMetadata === true || (Array.isArray(e?.errors) && e.errors.some(hasStaleMetadata));
}
