import { Admin } from '@platformatic/kafka';
import type { Config } from '../../config/schema.js';
import type { PipelineEvent } from '../../core/events.js';
import { ErrorCodes, TickflowError, errorMessage } from '../../core/errors.js';
import { explainKafkaFailure } from './failures.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import type { Bus, BusConsumer, BusEvent, ConsumerHooks, ConsumerOptions, TopicId } from '../bus.js';
import { topicOf } from '../bus.js';
import { payloadAt } from '../../core/payloads.js';
import { RecordEncoder } from './codec.js';
import { KafkaGroupConsumer } from './consumer.js';
import { KafkaPublisher } from './producer.js';
import { kafkaSecurity, type KafkaSecurity } from './security.js';
import { ensureTopics } from './topics.js';

/** What the Kafka bus logs and measures with. */
export interface KafkaBusDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

const MAX_DELIVERY_BATCH = 1_000;

/**
 * The Kafka transport: one topic per logical stream (config.bus.topics), keyed by instrument (exchange:market:symbol), values
 * the exchange's own payload where the source kept it, else the event as JSON (codec.ts, docs/kafka.md). Call `start()` before
 * use: it checks the broker and creates topics.
 */
export class KafkaBus implements Bus {
  readonly kind = 'kafka' as const;
  private readonly logger: Logger;
  private readonly publisher: KafkaPublisher;
  private readonly security: KafkaSecurity;
  private readonly consumers = new Set<KafkaGroupConsumer>();
  private readonly encoder = new RecordEncoder();
  private closed = false;

  constructor(
    private readonly config: Config['bus'],
    private readonly deps: KafkaBusDeps,
  ) {
    this.logger = deps.logger.child({ component: 'kafka-bus' });
    this.security = kafkaSecurity(config);
    this.publisher = new KafkaPublisher({ ...config, security: this.security }, this.logger, deps.metrics);
  }

  /**
   * Connects, then creates missing topics. Fails with TF_BUS_AUTH or TF_BUS_TLS (not retriable) when
   * the broker refuses the credentials or its certificate does not verify, TF_BUS_TOPIC_MISMATCH on
   * under-partitioned topics, TF_BUS_UNAVAILABLE (retriable) when the broker cannot be reached.
   */
  async start(): Promise<void> {
    await this.checkCredentials();
    const admin = new Admin({ clientId: `${this.config.clientId}-admin`, bootstrapBrokers: [...this.config.brokers], ...this.security });
    try {
      await ensureTopics(admin, Object.values(this.config.topics), {
        partitions: this.config.partitions,
        replicationFactor: this.config.replicationFactor,
        retentionMs: this.config.retentionMs,
      });
    } catch (err) {
      throw explainKafkaFailure(err, this.config, 'creating topics');
    } finally {
      await admin.close();
    }
    await this.publisher.connect();
    this.logger.info(
      { brokers: this.config.brokers, topics: this.config.topics, tls: this.config.tls.enabled, sasl: this.config.sasl.mechanism },
      'Kafka bus ready',
    );
  }

  /**
   * One connection attempt without the library's retries: it retries a refused password or an
   * untrusted certificate like a network error (it does not look into the error's cause), so a
   * wrong secret would cost several rejected logins per start. Only refusals end the start here;
   * a broker that is merely not up yet gets the normal retries below.
   */
  private async checkCredentials(): Promise<void> {
    if (!this.security.sasl && !this.security.tls) return;
    const probe = new Admin({ clientId: `${this.config.clientId}-admin`, bootstrapBrokers: [...this.config.brokers], ...this.security, retries: 0 });
    try {
      await probe.metadata({ topics: [] });
    } catch (err) {
      const explained = explainKafkaFailure(err, this.config, 'connecting');
      if (!explained.canRetry) throw explained;
    } finally {
      await probe.close();
    }
  }

  /** The Kafka topic name a logical topic maps to. */
  topicName(topic: TopicId): string {
    return this.config.topics[topic];
  }

  writable(): boolean {
    return !this.closed && this.publisher.writable();
  }

  failure(): string | undefined {
    return [...this.consumers].find((c) => c.stoppedFor !== undefined)?.stoppedFor;
  }

  /**
   * Events that carry the exchange's payload (core/payloads.ts) are written as schema 2, the rest as
   * schema 1. The producer's linger counts from the earliest `ingestionTimestamp` among them.
   */
  publish(events: readonly BusEvent[]): Promise<void> {
    const topics = this.config.topics;
    let receivedUs = Infinity;
    const records = events.map((event, i) => {
      if ('ingestionTimestamp' in event && event.ingestionTimestamp < receivedUs) receivedUs = event.ingestionTimestamp;
      return this.encoder.encode(event, payloadAt(events, i), topics[topicOf(event)]);
    });
    return this.publisher.send(records, receivedUs / 1000);
  }

  async subscribe<E extends BusEvent = PipelineEvent>(options: ConsumerOptions, typedHooks: ConsumerHooks<E>): Promise<BusConsumer> {
    // A group only subscribes to topics that carry E, so every decoded record it is handed is an E.
    const hooks = typedHooks as unknown as ConsumerHooks<BusEvent>;
    const consumer = new KafkaGroupConsumer(
      {
        brokers: this.config.brokers,
        security: this.security,
        clientId: `${this.config.clientId}-${options.group}`,
        group: options.group,
        topics: new Map(options.topics.map((t) => [t, this.topicName(t)])),
        resetTo: options.fromBeginning ? 'earliest' : this.config.autoOffsetReset,
        maxBatch: MAX_DELIVERY_BATCH,
        deadLetter: (event) => this.publish([event]),
        onClosed: () => this.consumers.delete(consumer),
      },
      hooks,
      this.logger.child({ group: options.group }),
      this.deps.metrics,
    );
    this.consumers.add(consumer);
    try {
      await consumer.start();
    } catch (err) {
      await consumer.close().catch(() => {});
      const explained = explainKafkaFailure(err, this.config, `joining consumer group ${options.group}`);
      throw explained.code === ErrorCodes.BUS_UNAVAILABLE
        ? new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `cannot join Kafka consumer group ${options.group}: ${errorMessage(err)}`, {
            cause: err,
            canRetry: true,
          })
        : explained;
    }
    return consumer;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.consumers].map((c) => c.close()));
    this.closed = true;
    await this.publisher.close();
  }
}
