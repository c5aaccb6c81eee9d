import type { BusEvent, Delivery, TopicId } from '../bus.js';

/** A record that could not be decoded: where it was, why, and its value as text for the dead letter. */
export interface Undecodable {
  readonly topic: TopicId;
  readonly partition: number;
  readonly offset: bigint;
  readonly error: unknown;
  readonly raw: string;
}

/** One received record, decoded on arrival: a delivery, or the reason it is not one. */
export type Received = Delivery<BusEvent> | Undecodable;

/** Whether `item` is a record that could not be decoded. */
export function isUndecodable(item: Received): item is Undecodable {
  return 'error' in item;
}

/**
 * What a consumer has fetched and not yet handed over, decoded as it arrives: the Kafka client's
 * message objects (a Map of header Buffers, key and value Buffers, a bound commit function each)
 * are dropped at once instead of being held — and promoted by the garbage collector — while they
 * wait for the handler. `capacity` is the count at which the consumer pauses its fetches.
 */
export class ReceivedBuffer {
  private items: Received[] = [];

  constructor(readonly capacity: number) {}

  get length(): number {
    return this.items.length;
  }

  /** Whether the buffer holds `capacity` records or more: the consumer stops fetching. */
  get full(): boolean {
    return this.items.length >= this.capacity;
  }

  /**
   * Appends `item`. A record at or before one already buffered from its partition means the
   * partition was rewound (a re-read from the committed offset after a rejoin): what was buffered
   * from that offset on is dropped, so each partition stays in offset order without duplicates.
   */
  add(item: Received, rewound: boolean): void {
    if (rewound) this.items = this.items.filter((r) => r.topic !== item.topic || r.partition !== item.partition || r.offset < item.offset);
    this.items.push(item);
  }

  /** Removes and returns up to `max` records from the front, in arrival order. */
  take(max: number): Received[] {
    return this.items.splice(0, max);
  }

  /** Drops everything buffered. */
  clear(): void {
    this.items = [];
  }
}
