import { Producer } from '@platformatic/kafka';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { ErrorCodes, TickflowError, errorMessage } from '../../core/errors.js';
import { retry } from '../../core/retry.js';
import { BatchSender, type Delivery } from './batch-sender.js';
import type { EncodedRecord } from './codec.js';
import { kafkaCanRetry, kafkaFailureCauses } from './failures.js';
import type { KafkaSecurity } from './security.js';

/**
 * How the Kafka publisher connects and batches (bus.lingerMs ms, bus.batchMaxBytes bytes, at most
 * maxBufferedEvents waiting).
 */
export interface PublisherOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly lingerMs: number;
  readonly batchMaxBytes: number;
  readonly maxBufferedEvents: number;
  /** TLS and SASL settings (bus.tls, bus.sasl). */
  readonly security: KafkaSecurity;
}

interface Waiter {
  remaining: number;
  failed: boolean;
  /** Epoch ms since which its oldest record waits (its receipt, else the send() call): the linger counts from it. */
  readonly since: number;
  resolve(): void;
  reject(err: unknown): void;
}

/** Records taken from the queue for one produce request, each with the waiter of the send() it came in. */
interface Batch {
  readonly records: EncodedRecord[];
  readonly waiters: Waiter[];
}

/** Per-record overhead on the wire beyond key and value (record header, batch share). */
const RECORD_OVERHEAD = 70;
const RETRY_INITIAL_MS = 100;
const RETRY_MAX_MS = 5_000;
/** How long close() waits for the broker to acknowledge what is buffered before giving up. */
const CLOSE_GRACE_MS = 10_000;
/** While idle, the broker is asked for metadata this often so that writable() stays current. */
const PROBE_INTERVAL_MS = 5_000;
/** The produce request's timeout_ms (the library's default `timeout`): how long the leader waits for the in-sync replicas. */
const PRODUCE_TIMEOUT_MS = 5_000;

/**
 * The producing half of KafkaBus: a bounded buffer in front of one idempotent, acks=all, lz4
 * producer. Records are sent in batches of at most `batchMaxBytes`, waiting up to `lingerMs` for a
 * batch to fill; one batch is in flight at a time, so records of a partition reach the broker in
 * the order they were published. A batch that fails is sent again with backoff until it is acked
 * or the publisher is closed: a record is never dropped silently.
 */
export class KafkaPublisher {
  private readonly producer: Producer<Buffer, Buffer, Buffer, Buffer>;
  private readonly sender: BatchSender;
  // Parallel arrays rather than an object per record: records live until acknowledged, and every
  // object that does is copied by each young-generation GC (GC was ~20 % of the ingest role's CPU).
  private readonly queue: EncodedRecord[] = [];
  private readonly queueWaiters: Waiter[] = [];
  private queuedBytes = 0;
  private readonly spaceWaiters: (() => void)[] = [];
  private lingerTimer: NodeJS.Timeout | undefined;
  private sending = false;
  /** Records taken from the queue and not yet acknowledged; they count towards the bound. */
  private inFlight = 0;
  private closed = false;
  /** Aborted by close(): a batch that fails after it is failed with TF_SHUTDOWN instead of retried. */
  private readonly closing = new AbortController();
  private healthy = true;
  private idle: (() => void)[] = [];
  private probeTimer: NodeJS.Timeout | undefined;
  /** Epoch ms of the last send() call. */
  private lastSendAt = 0;

  constructor(
    private readonly options: PublisherOptions,
    private readonly logger: Logger,
    private readonly metrics: Metrics,
  ) {
    // The library connects, keeps metadata and the producer id; the batches themselves (acks=all,
    // idempotent, lz4, Java's partitioner) are BatchSender's.
    this.producer = new Producer({
      clientId: options.clientId,
      bootstrapBrokers: [...options.brokers],
      ...options.security,
      autocreateTopics: false,
      // Short outages (leader moving) are retried inside the library where it talks to the broker
      // itself (metadata, producer id); produce requests and longer outages by this class's
      // backoff loop, which also marks the bus unwritable meanwhile.
      retries: 3,
      retryDelay: 250,
    });
    this.sender = new BatchSender(this.producer, { compression: 'lz4', timeoutMs: PRODUCE_TIMEOUT_MS });
  }

  /** True unless the last attempt to reach the broker failed. */
  writable(): boolean {
    return !this.closed && this.healthy;
  }

  async connect(): Promise<void> {
    await this.producer.metadata({ topics: [] });
    this.probeTimer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS).unref();
  }

  private async probe(): Promise<void> {
    if (this.sending || this.closed) return;
    try {
      await this.producer.metadata({ topics: [], forceUpdate: true });
      this.healthy = true;
    } catch {
      this.healthy = false;
    }
  }

  /**
   * Queues records and resolves once the broker acknowledged all of them. Waits first while the
   * buffer holds `maxBufferedEvents` (unless it is empty, so an oversized call still proceeds).
   * `receivedAt`: epoch ms at which the oldest of them was received; the linger counts from it, but
   * not from before the previous call (a replay's records carry the receipt times of their
   * recording, and a caller that waited for the previous call's ack held these meanwhile).
   */
  async send(records: readonly EncodedRecord[], receivedAt?: number): Promise<void> {
    if (records.length === 0) return;
    const now = Date.now();
    const since = Math.max(this.lastSendAt, Math.min(now, receivedAt ?? now));
    this.lastSendAt = now;
    while (!this.closed && this.buffered() > 0 && this.buffered() + records.length > this.options.maxBufferedEvents) {
      await new Promise<void>((resolve) => this.spaceWaiters.push(resolve));
    }
    if (this.closed) throw new TickflowError(ErrorCodes.SHUTDOWN, 'Kafka bus is closed');
    const done = new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { remaining: records.length, failed: false, since, resolve, reject };
      for (const record of records) {
        this.queue.push(record);
        this.queueWaiters.push(waiter);
        this.queuedBytes += sizeOf(record);
      }
    });
    this.schedule();
    return done;
  }

  /** Resolves when everything queued so far has been acknowledged (or failed). */
  async flush(): Promise<void> {
    if (this.queue.length === 0 && !this.sending) return;
    await new Promise<void>((resolve) => {
      this.idle.push(resolve);
      this.schedule(true);
    });
  }

  /**
   * Waits up to CLOSE_GRACE_MS for buffered records to be acknowledged; whatever the broker has
   * not taken by then fails its publish() with TF_SHUTDOWN rather than vanishing.
   */
  async close(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.flush(), new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(timer);
    clearInterval(this.probeTimer);
    this.closed = true;
    this.closing.abort();
    const shutdown = new TickflowError(ErrorCodes.SHUTDOWN, 'Kafka bus closed before the broker acknowledged these events');
    this.queue.length = 0;
    for (const waiter of this.queueWaiters.splice(0)) fail(waiter, shutdown);
    this.queuedBytes = 0;
    for (const wake of this.spaceWaiters.splice(0)) wake();
    for (const wake of this.idle.splice(0)) wake();
    await this.producer.close();
  }

  private buffered(): number {
    return this.queue.length + this.inFlight;
  }

  private schedule(now = false): void {
    if (this.sending) return;
    if (this.queue.length === 0) {
      for (const wake of this.idle.splice(0)) wake();
      return;
    }
    // The linger bounds how long the oldest record waits for companions since ingest received it.
    // Ingest hands over its next batch only once the previous one is acked, so those records have
    // waited for the round trip already; a fresh linger from the hand-over held them for the
    // linger and the round trip twice (35–40 ms of the 50–60 ms median exchange → committed row at
    // 1k msgs/s with 20 ms, bench/e2e-latency.ts).
    const wait = this.queueWaiters[0]!.since + this.options.lingerMs - Date.now();
    if (now || wait <= 0 || this.closed || this.queuedBytes >= this.options.batchMaxBytes || this.idle.length > 0) {
      if (this.lingerTimer) clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      void this.sendLoop();
    } else if (!this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined;
        void this.sendLoop();
      }, wait);
    }
  }

  private async sendLoop(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    try {
      // Keep sending while full batches are waiting; a partial batch waits for linger again.
      do {
        await this.sendBatch(this.takeBatch());
      } while (this.queue.length > 0 && (this.queuedBytes >= this.options.batchMaxBytes || this.idle.length > 0));
    } finally {
      this.sending = false;
      this.schedule();
    }
  }

  private takeBatch(): Batch {
    let bytes = 0;
    let count = 0;
    while (count < this.queue.length) {
      const size = sizeOf(this.queue[count]!);
      if (count > 0 && bytes + size > this.options.batchMaxBytes) break;
      bytes += size;
      count++;
    }
    this.queuedBytes -= bytes;
    this.inFlight += count;
    return { records: this.queue.splice(0, count), waiters: this.queueWaiters.splice(0, count) };
  }

  private async sendBatch(batch: Batch): Promise<void> {
    try {
      await this.deliver(batch);
    } finally {
      this.inFlight -= batch.records.length;
      for (const wake of this.spaceWaiters.splice(0)) wake();
    }
  }

  private async deliver(batch: Batch): Promise<void> {
    const started = process.hrtime.bigint();
    const delivery = this.sender.delivery(batch.records);
    try {
      // A record is never dropped while a retry can help: no attempt limit, only close() ends it.
      await retry(() => this.sendOnce(delivery), {
        initialDelayMs: RETRY_INITIAL_MS,
        maxDelayMs: RETRY_MAX_MS,
        signal: this.closing.signal,
        onRetry: (err, attempt, delayMs) =>
          this.logger.warn({ err: err.message, records: batch.records.length, attempt, delayMs }, 'Kafka produce failed; retrying'),
      });
    } catch (err) {
      delivery.abandon();
      const error = this.closed ? new TickflowError(ErrorCodes.SHUTDOWN, 'Kafka bus closed before the broker acknowledged these events', { cause: err }) : err;
      if (!this.closed)
        this.logger.error(
          { err: errorMessage(err), causes: kafkaFailureCauses(err), records: batch.records.length },
          'Kafka produce failed; retrying cannot help',
        );
      for (const waiter of batch.waiters) fail(waiter, error);
      return;
    }
    this.metrics.produceLatency.observe(Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics.kafkaBatchSize.observe(batch.records.length);
    // Counted per topic and batch: a labelled inc() per record was 2 % of the ingest role's CPU.
    const produced = new Map<string, number>();
    for (const record of batch.records) produced.set(record.topic, (produced.get(record.topic) ?? 0) + 1);
    for (const waiter of batch.waiters) if (--waiter.remaining === 0 && !waiter.failed) waiter.resolve();
    for (const [topic, n] of produced) this.metrics.eventsProduced.inc({ topic }, n);
  }

  /** One produce attempt; a failure comes out as TF_BUS_UNAVAILABLE carrying whether a retry can help. */
  private async sendOnce(delivery: Delivery): Promise<void> {
    if (this.closed) throw new TickflowError(ErrorCodes.SHUTDOWN, 'Kafka bus is closed');
    try {
      await delivery.attempt();
      this.healthy = true;
    } catch (err) {
      this.healthy = false;
      throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `Kafka produce failed: ${errorMessage(err)}`, {
        cause: err,
        canRetry: !this.closed && kafkaCanRetry(err),
      });
    }
  }
}

/** A record's share of bus.batchMaxBytes: a text value's length in UTF-16 units is its byte length for the ASCII exchanges send, and the bound is an estimate anyway. */
function sizeOf(record: EncodedRecord): number {
  return record.value.length + record.key.length + RECORD_OVERHEAD;
}

function fail(waiter: Waiter, err: unknown): void {
  if (waiter.failed) return;
  waiter.failed = true;
  waiter.reject(err);
}
