import type { PipelineEvent } from '../core/events.js';

/** Logical topics; the Kafka bus maps them to configured topic names (binance.trades, ...). */
export type TopicId = 'trades' | 'bookTicker' | 'depth' | 'klines' | 'gaps' | 'deadLetters';

export function topicOf(event: PipelineEvent): TopicId {
  switch (event.type) {
    case 'trade':
    case 'aggTrade':
      return 'trades';
    case 'bookTicker':
      return 'bookTicker';
    case 'depth':
    case 'depthSnapshot':
    case 'bookSnapshot':
      return 'depth';
    case 'kline':
      return 'klines';
    case 'gap':
      return 'gaps';
    case 'deadLetter':
      return 'deadLetters';
  }
}

/** One event as a consumer sees it, with the position it must commit once the event is durable. */
export interface Delivery {
  readonly topic: TopicId;
  readonly partition: number;
  /** Position within the partition; committing a delivery commits everything before it too. */
  readonly offset: bigint;
  readonly key: string;
  readonly event: PipelineEvent;
}

export interface ConsumerHooks {
  /** Called with every batch in partition order; resolving does NOT commit. */
  onDeliveries(batch: readonly Delivery[]): Promise<void>;
  /**
   * Called before partitions are taken away (rebalance, shutdown): flush what was received from
   * them and commit, because the next owner starts from the last committed offset.
   */
  onRevoke?(partitions: readonly { topic: TopicId; partition: number }[]): Promise<void>;
  onAssign?(partitions: readonly { topic: TopicId; partition: number }[]): Promise<void>;
}

export interface BusConsumer {
  /** Commit up to and including each delivery's offset (per topic-partition, the highest wins). */
  commit(deliveries: readonly Delivery[]): Promise<void>;
  /**
   * Per topic-partition lag (latest offset − committed), when the bus knows it, with `end`, the
   * offset the next record will get (so a consumer can tell what it processed from what it committed).
   */
  lag(): Promise<readonly { topic: TopicId; partition: number; lag: number; end: number }[]>;
  close(): Promise<void>;
}

export interface ConsumerOptions {
  readonly group: string;
  readonly topics: readonly TopicId[];
  /** Where to start when the group has no committed offset. */
  readonly fromBeginning?: boolean;
}

/**
 * The transport seam between roles. `publish` resolves once the bus has durably accepted the
 * events (acks=all for Kafka) and applies back-pressure by resolving late when it is full.
 */
export interface Bus {
  readonly kind: 'memory' | 'kafka';
  publish(events: readonly PipelineEvent[]): Promise<void>;
  subscribe(options: ConsumerOptions, hooks: ConsumerHooks): Promise<BusConsumer>;
  /**
   * Resolves once every subscribed group has been handed everything published so far, where the bus
   * can tell (the in-process bus); used when a finite source ends.
   */
  drain?(): Promise<void>;
  /** True while publishing can succeed (for readiness). */
  writable(): boolean;
  close(): Promise<void>;
}
