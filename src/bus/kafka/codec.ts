import type { PipelineEvent } from '../../core/events.js';
import type { BusEvent } from '../bus.js';
import { ErrorCodes, TickflowError } from '../../core/errors.js';

/** Record headers (docs/kafka.md): the event type and the version of the value's JSON layout. */
export const TYPE_HEADER = 'tickflow-type';
export const SCHEMA_HEADER = 'tickflow-schema';
export const SCHEMA_VERSION = '1';

/** Types keyed by instrument: market records, gaps and the processor's signals. */
const MARKET_TYPES = new Set(['trade', 'aggTrade', 'bookTicker', 'depth', 'depthSnapshot', 'bookSnapshot', 'kline', 'gap', 'signal']);

/** The record value: the normalized event as JSON, field names exactly as in src/core/events.ts. */
export function encodeEvent(event: BusEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/**
 * Turns a record value back into an event. Checks the shape only as far as consumers rely on it
 * (a known `type`, a symbol on symbol-keyed events), so a record from a foreign producer or a
 * truncated write becomes a dead letter instead of crashing a consumer further down.
 */
export function decodeBusEvent(value: Buffer | undefined, typeHeader: string | undefined): BusEvent {
  if (value === undefined || value.length === 0) throw decodeError('empty record value');
  let parsed: unknown;
  try {
    parsed = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw decodeError(`value is not JSON: ${(err as Error).message}`, err);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw decodeError('value is not a JSON object');
  const record = parsed as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string') throw decodeError('value has no string "type"');
  if (typeHeader !== undefined && typeHeader !== type) throw decodeError(`header ${TYPE_HEADER}=${typeHeader} but value type=${type}`);
  if (MARKET_TYPES.has(type)) {
    // The instrument (exchange, market, symbol) is the record's identity; `exchange` is open (any
    // registered source), so only its presence is checked here.
    for (const field of ['exchange', 'market', 'symbol']) {
      if (typeof record[field] !== 'string' || record[field] === '') throw decodeError(`${type} event without a string "${field}"`);
    }
  } else if (type === 'deadLetter') {
    if (typeof record.origin !== 'string' || typeof record.reason !== 'string') throw decodeError('deadLetter without origin/reason');
  } else {
    throw decodeError(`unknown event type ${JSON.stringify(type)}`);
  }
  return record as unknown as BusEvent;
}

/** A record of a source topic: as decodeBusEvent, but a signal is an error too (sinks take only source records). */
export function decodeEvent(value: Buffer | undefined, typeHeader: string | undefined): PipelineEvent {
  const event = decodeBusEvent(value, typeHeader);
  if (event.type === 'signal') throw decodeError('a signal where a source record was expected');
  return event;
}

function decodeError(message: string, cause?: unknown): TickflowError {
  return new TickflowError(ErrorCodes.DECODE, message, { cause });
}
