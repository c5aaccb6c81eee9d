import type { MarketEvent, PipelineEvent, TimeUnit } from './events.js';

/**
 * The exchange's own JSON text of a record's payload (Binance: the combined stream's `data`
 * object exactly as received), carried next to the normalized events of a batch so that the Kafka
 * bus can forward the exchange's bytes instead of serializing the event again (docs/kafka.md,
 * "Records", schema 2). The event stays what every other consumer of the batch reads.
 *
 * A payload is tied to its event by position *and* identity: `payloadAt` answers only when the
 * event at that position is the one the payload was attached with, so a batch that was reordered,
 * filtered or extended by other means just loses its payloads (the bus then writes the event as
 * JSON) and can never hand one event another event's bytes.
 */
export interface ExchangePayload {
  /** The payload's JSON text as the exchange sent it. */
  readonly text: string;
  /** The unit of the exchange times in it (the stream's `timeUnit`). */
  readonly timeUnit: TimeUnit;
}

const PAYLOADS = Symbol('tickflow.payloads');

interface Attached {
  /** Per position: the event the payload belongs to, or undefined for an event without one. */
  readonly owners: (MarketEvent | undefined)[];
  readonly payloads: (ExchangePayload | undefined)[];
}

type Carrier = readonly unknown[] & { [PAYLOADS]?: Attached };

/** Appends `event` to `batch` with the exchange's JSON text of its payload. */
export function pushWithPayload(batch: PipelineEvent[], event: MarketEvent, payload: ExchangePayload): void {
  const carrier = batch as Carrier;
  let attached = carrier[PAYLOADS];
  if (attached === undefined) {
    attached = { owners: [], payloads: [] };
    // Not enumerable: a batch compared or logged in a test stays a plain array of events.
    Object.defineProperty(carrier, PAYLOADS, { value: attached });
  }
  // Positions filled by plain pushes (gaps, dead letters) have no payload.
  while (attached.owners.length < batch.length) {
    attached.owners.push(undefined);
    attached.payloads.push(undefined);
  }
  attached.owners.push(event);
  attached.payloads.push(payload);
  batch.push(event);
}

/** The payload of `batch[index]`, when one was attached to exactly that event at that position. */
export function payloadAt(batch: readonly unknown[], index: number): ExchangePayload | undefined {
  const attached = (batch as Carrier)[PAYLOADS];
  if (attached === undefined || attached.owners[index] !== batch[index]) return undefined;
  return attached.payloads[index];
}
