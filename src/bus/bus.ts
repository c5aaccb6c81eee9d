import { eventKey, instrumentKey, type PipelineEvent } from '../core/events.js';
import type { Signal } from '../core/signals.js';

/**
 * What travels on the bus: the source's records (PipelineEvent) and the processor's signals, which
 * have their own topic (`signals`) and are never read by the store writer.
 */
export type BusEvent = PipelineEvent | Signal;

/** Logical topics; the Kafka bus maps them to configured topic names (binance.trades, ...). */
export type TopicId = 'trades' | 'bookTicker' | 'depth' | 'klines' | 'gaps' | 'deadLetters' | 'signals';

/**
 * The logical topic an event travels on: trade and aggTrade on `trades`; depth diffs and depth/book
 * snapshots on `depth` (one topic, so a book's diffs and snapshots keep their order per instrument);
 * `bookTicker`, `klines`, `gaps`, `deadLetters` on their own; the processor's signals on `signals`.
 */
export function topicOf(event: BusEvent): TopicId {
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
    case 'signal':
      return 'signals';
  }
}

/** The record key: the instrument (eventKey); a signal's instrument too. */
export function busKey(event: BusEvent): string {
  return event.type === 'signal' ? instrumentKey(event) : eventKey(event);
}

/**
 * One event as a consumer sees it, with the position it must commit once the event is durable.
 * `E` is what the subscribed topics carry: PipelineEvent, or Signal for the `signals` topic.
 */
export interface Delivery<E extends BusEvent = PipelineEvent> {
  readonly topic: TopicId;
  readonly partition: number;
  /** Position within the partition; committing a delivery commits everything before it too. */
  readonly offset: bigint;
  readonly key: string;
  readonly event: E;
}

/** What a consumer group calls: each batch of deliveries, and the partitions revoked or assigned. */
export interface ConsumerHooks<E extends BusEvent = PipelineEvent> {
  /** Called with every batch in partition order; resolving does NOT commit. */
  onDeliveries(batch: readonly Delivery<E>[]): Promise<void>;
  /**
   * Called before partitions are taken away (rebalance, shutdown): flush what was received from
   * them and commit, because the next owner starts from the last committed offset.
   */
  onRevoke?(partitions: readonly { topic: TopicId; partition: number }[]): Promise<void>;
  onAssign?(partitions: readonly { topic: TopicId; partition: number }[]): Promise<void>;
}

/**
 * A subscribed consumer group member: commits after the caller made deliveries durable, reports lag
 * (records), closes.
 */
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

/**
 * A consumer group (name), the logical topics it reads, and where a group without committed offsets
 * starts.
 */
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
  readonly kind: 'memory' | 'kafka' | 'kinesis';
  publish(events: readonly BusEvent[]): Promise<void>;
  /** `E`: Signal when `topics` is `['signals']`, else PipelineEvent; topics of both kinds are not mixed. */
  subscribe<E extends BusEvent = PipelineEvent>(options: ConsumerOptions, hooks: ConsumerHooks<E>): Promise<BusConsumer>;
  /**
   * Resolves once every subscribed group has been handed everything published so far, where the bus
   * can tell (the in-process bus); used when a finite source ends.
   */
  drain?(): Promise<void>;
  /** True while publishing can succeed (for readiness). */
  writable(): boolean;
  /**
   * Why a consumer of this process stopped delivering for good (a handler failure or a group it
   * cannot rejoin, which no retry fixes), for /health; undefined while every consumer works. The
   * in-process bus's writable() turns false too (its failed group's queue holds publish back).
   */
  failure(): string | undefined;
  close(): Promise<void>;
}
