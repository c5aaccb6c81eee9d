import type { DeadLetterEvent, MarketEvent, PipelineEvent } from '../../core/events.js';
import type { ExchangePayload } from '../../core/payloads.js';
import { exchanges } from '../../sources/registry.js';
import { busKey, type BusEvent, type TopicId, topicOf } from '../bus.js';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import type { BatchRecord, RecordHeader } from './record-batch.js';

/**
 * The one home of the Kafka record format (docs/kafka.md, "Records"). Two layouts, told apart by
 * the `tickflow-schema` header:
 *
 * - **1**: the value is the normalized event as JSON (gaps, dead letters, signals, book
 *   snapshots, healed trades — everything tickflow makes itself — and every record written before
 *   schema 2);
 * - **2**: the value is the exchange's own payload exactly as received (Binance: the `data` object
 *   of a combined-stream frame), the key names the instrument (`exchange:market:symbol`) and the
 *   headers carry what tickflow adds: the record type, the ingestion time in epoch µs and, for
 *   streams opened with `timeUnit=MICROSECOND`, that unit. Ingest forwards the bytes instead of
 *   parsing into an object and serializing it again; a consumer maps the payload with the same
 *   mapper the source used (sources/registry.ts `fromPayload`), so it gets the same event.
 */

/** Record headers: the event type, the value layout's version, and schema 2's ingestion time and time unit. */
export const TYPE_HEADER = 'tickflow-type';
/** Which value layout a record has: SCHEMA_VERSION or PAYLOAD_SCHEMA_VERSION. */
export const SCHEMA_HEADER = 'tickflow-schema';
/** Schema 2: the ingestion time, epoch µs as decimal text. */
export const INGESTED_HEADER = 'tickflow-ingested';
/** Schema 2: `MICROSECOND` when the payload's exchange times are µs (absent: ms). */
export const TIME_UNIT_HEADER = 'tickflow-time-unit';
/** Value = the normalized event as JSON. */
export const SCHEMA_VERSION = '1';
/** Value = the exchange's own payload; instrument in the key, ingestion time in a header. */
export const PAYLOAD_SCHEMA_VERSION = '2';

/** Types keyed by instrument: market records, gaps and the processor's signals. */
const MARKET_TYPES = new Set(['trade', 'aggTrade', 'bookTicker', 'depth', 'depthSnapshot', 'bookSnapshot', 'kline', 'gap', 'signal']);

/**
 * Bytes a dead letter's value takes at most. Its `raw` is whatever arrived — a WebSocket frame up
 * to ws's 100 MiB, a Kafka record near the broker's limit whose invalid UTF-8 bytes each become a
 * 3-byte U+FFFD and control bytes a 6-byte `\u00XX` — while a Kafka record batch is capped by the
 * broker's `message.max.bytes` (1 MiB by default) and a Kinesis record at 1 MiB: a letter over it
 * was refused for good, failing the publish of every event with it (the source lost the batch; a
 * consumer's stream died on the unhandled rejection, so the record crash-looped its role).
 */
export const MAX_DEAD_LETTER_BYTES = 256 * 1024;

/**
 * The record value of schema 1: the normalized event as JSON, field names exactly as in
 * src/core/events.ts. A dead letter over MAX_DEAD_LETTER_BYTES keeps the start of its `raw`, and its
 * `detail` says how much of it.
 */
export function encodeEvent(event: BusEvent): Buffer {
  const value = Buffer.from(JSON.stringify(event), 'utf8');
  return event.type === 'deadLetter' && value.length > MAX_DEAD_LETTER_BYTES ? encodeCutDeadLetter(event, value.length) : value;
}

/** `letter` with `raw` cut to its longest prefix (found by halving) whose value fits MAX_DEAD_LETTER_BYTES. */
function encodeCutDeadLetter(letter: DeadLetterEvent, bytes: number): Buffer {
  // A character of raw takes 1–6 bytes of JSON: start from the average, halve while it does not fit.
  let keep = Math.floor((letter.raw.length * MAX_DEAD_LETTER_BYTES) / bytes);
  for (;;) {
    const detail = `${letter.detail} (raw cut to its first ${keep} of ${letter.raw.length} characters: the dead letter was ${bytes} bytes, over ${MAX_DEAD_LETTER_BYTES})`;
    const value = Buffer.from(JSON.stringify({ ...letter, detail, raw: letter.raw.slice(0, keep) }), 'utf8');
    if (value.length <= MAX_DEAD_LETTER_BYTES || keep === 0) return value;
    keep = Math.floor(keep / 2);
  }
}

/**
 * Topic, key, value and headers of one Kafka record, as the record batch writer takes them
 * (record-batch.ts): the value may be the exchange's text, written as UTF-8 into the batch
 * without a Buffer of its own; header pairs that repeat are shared between records.
 */
export interface EncodedRecord extends BatchRecord {
  readonly topic: string;
}

const TYPE_KEY = Buffer.from(TYPE_HEADER);
const SCHEMA_KEY = Buffer.from(SCHEMA_HEADER);
const INGESTED_KEY = Buffer.from(INGESTED_HEADER);
const SCHEMA_1: RecordHeader = [SCHEMA_KEY, Buffer.from(SCHEMA_VERSION)];
const SCHEMA_2: RecordHeader = [SCHEMA_KEY, Buffer.from(PAYLOAD_SCHEMA_VERSION)];
const TIME_UNIT_KEY = Buffer.from(TIME_UNIT_HEADER);
const MICROSECOND: RecordHeader = [TIME_UNIT_KEY, Buffer.from('MICROSECOND')];
/** Distinct keys and types kept as bytes; instruments are bounded by the configuration, this bounds the rest. */
const MAX_CACHED = 10_000;

/**
 * Turns events into records. Keys and type headers repeat for every record of an instrument, so
 * their bytes are made once and shared (the producer also recognises a key by its Buffer); a
 * schema-2 record's only bytes of its own are the ingestion time's digits, written by the batch
 * writer straight from the number.
 */
export class RecordEncoder {
  private readonly keys = new Map<string, Buffer>();
  private readonly types = new Map<string, RecordHeader>();

  /** A record for `topic`: schema 2 when `payload` is the exchange's text of this event's payload, else schema 1. */
  encode(event: BusEvent, payload: ExchangePayload | undefined, topic: string): EncodedRecord {
    const key = cached(this.keys, busKey(event), (text) => Buffer.from(text, 'utf8'));
    const type = cached(this.types, event.type, (text): RecordHeader => [TYPE_KEY, Buffer.from(text, 'utf8')]);
    if (payload === undefined || !('ingestionTimestamp' in event)) return { topic, key, value: encodeEvent(event), headers: [type, SCHEMA_1] };
    const ingested: RecordHeader = [INGESTED_KEY, event.ingestionTimestamp];
    const headers = payload.timeUnit === 'MICROSECOND' ? [type, SCHEMA_2, ingested, MICROSECOND] : [type, SCHEMA_2, ingested];
    return { topic, key, value: payload.text, headers };
  }
}

function cached<T>(cache: Map<string, T>, text: string, make: (text: string) => T): T {
  let value = cache.get(text);
  if (value === undefined) {
    if (cache.size >= MAX_CACHED) cache.clear();
    value = make(text);
    cache.set(text, value);
  }
  return value;
}

interface Headers {
  type?: string;
  schema?: string;
  /** The raw bytes: schema 2 reads its digits in place (readMicros). */
  ingested?: Buffer;
  timeUnit?: string;
}

/**
 * The four headers tickflow writes, picked out of a record's. Their names differ in length, so a
 * header is compared with the one name of its length only (Buffer.equals per name and header was
 * a tenth of the decode's time).
 */
function readHeaders(headers: ReadonlyMap<Buffer, Buffer>): Headers {
  const out: Headers = {};
  for (const [k, v] of headers) {
    switch (k.length) {
      case TYPE_KEY.length:
        if (k.equals(TYPE_KEY)) out.type = v.toString('utf8');
        break;
      case SCHEMA_KEY.length:
        if (k.equals(SCHEMA_KEY)) out.schema = v.toString('utf8');
        break;
      case INGESTED_KEY.length:
        if (k.equals(INGESTED_KEY)) out.ingested = v;
        break;
      case TIME_UNIT_KEY.length:
        if (k.equals(TIME_UNIT_KEY)) out.timeUnit = v.toString('utf8');
        break;
    }
  }
  return out;
}

/** Decimal digits (1 to 16 ASCII digits) as a number, else NaN; read in place, without a string. */
function readMicros(bytes: Buffer | undefined): number {
  if (bytes === undefined || bytes.length === 0 || bytes.length > 16) return NaN;
  let n = 0;
  for (let i = 0; i < bytes.length; i++) {
    const digit = bytes[i]! - 48;
    if (digit < 0 || digit > 9) return NaN;
    n = n * 10 + digit;
  }
  return n;
}

/** A schema-2 key's parts and its exchange's registry entry. */
interface KeyParts {
  readonly exchange: string;
  readonly market: string;
  readonly symbol: string;
  readonly entry: (typeof exchanges)[string];
}

/** Parsed keys: one per instrument, which the configuration bounds; MAX_CACHED bounds the rest. */
const keyParts = new Map<string, KeyParts>();

/** `exchange:market:symbol` of a known exchange → its parts; throws TF_DECODE otherwise. */
function parseKey(key: string | undefined): KeyParts {
  const known = key === undefined ? undefined : keyParts.get(key);
  if (known !== undefined) return known;
  const [exchange, market, symbol, ...rest] = key?.split(':') ?? [];
  if (exchange === undefined || market === undefined || symbol === undefined || rest.length > 0 || !exchange || !market || !symbol) {
    throw decodeError(`schema ${PAYLOAD_SCHEMA_VERSION} record without an exchange:market:symbol key (key ${JSON.stringify(key ?? null)})`);
  }
  const entry = Object.hasOwn(exchanges, exchange) ? exchanges[exchange] : undefined;
  if (entry === undefined) throw decodeError(`schema ${PAYLOAD_SCHEMA_VERSION} record of unknown exchange ${JSON.stringify(exchange)}`);
  const parts = { exchange, market, symbol, entry };
  if (keyParts.size >= MAX_CACHED) keyParts.clear();
  keyParts.set(key!, parts);
  return parts;
}

/**
 * A Kafka record (either schema; no schema header reads as 1, e.g. a foreign producer's JSON) →
 * its event. Throws TF_DECODE, saying why, for anything that is not a record of either layout, so
 * the consumer turns it into a dead letter instead of crashing further down. `topic`: the logical
 * topic it was read from, when known; a record whose type belongs on another topic is refused too.
 * `key`: the record's key as bytes, or as the UTF-8 text the caller decoded already.
 */
export function decodeRecord(key: Buffer | string | undefined, value: Buffer | undefined, headers: ReadonlyMap<Buffer, Buffer>, topic?: TopicId): BusEvent {
  const event = decodeAnyRecord(key, value, headers);
  // The topic decides what reads a record (the store writes any type to its table): a bookTicker on
  // the trades topic would be stored, yet out of order with its own stream's partition.
  if (topic !== undefined && topicOf(event) !== topic) throw decodeError(`a ${event.type} record on the ${topic} topic (it belongs on ${topicOf(event)})`);
  return event;
}

function decodeAnyRecord(key: Buffer | string | undefined, value: Buffer | undefined, headers: ReadonlyMap<Buffer, Buffer>): BusEvent {
  const h = readHeaders(headers);
  if (h.schema === undefined || h.schema === SCHEMA_VERSION) return decodeBusEvent(value, h.type);
  if (h.schema !== PAYLOAD_SCHEMA_VERSION) throw decodeError(`unknown ${SCHEMA_HEADER} ${JSON.stringify(h.schema)}`);
  return decodePayloadRecord(typeof key === 'string' ? key : key?.toString('utf8'), value, h);
}

function decodePayloadRecord(key: string | undefined, value: Buffer | undefined, h: Headers): PipelineEvent {
  const { exchange, market, symbol, entry } = parseKey(key);
  if (h.type === undefined) throw decodeError(`schema ${PAYLOAD_SCHEMA_VERSION} record without ${TYPE_HEADER}`);
  const ingested = readMicros(h.ingested);
  if (!Number.isSafeInteger(ingested))
    throw decodeError(
      `schema ${PAYLOAD_SCHEMA_VERSION} record without an integer ${INGESTED_HEADER} (epoch µs): ${JSON.stringify(h.ingested?.toString('latin1') ?? null)}`,
    );
  const timeUnit = h.timeUnit ?? 'MILLISECOND';
  if (timeUnit !== 'MILLISECOND' && timeUnit !== 'MICROSECOND')
    throw decodeError(`${TIME_UNIT_HEADER} ${JSON.stringify(timeUnit)} is not MILLISECOND or MICROSECOND`);
  const data = parseValue(value);
  let event: MarketEvent;
  try {
    event = entry.fromPayload(h.type, data, market, ingested, timeUnit);
  } catch (err) {
    throw decodeError(`${exchange} ${h.type} payload: ${(err as Error).message}`, err);
  }
  if (event.symbol !== symbol) throw decodeError(`key names ${symbol} but the payload is ${event.symbol}'s`);
  return event;
}

function parseValue(value: Buffer | undefined): unknown {
  if (value === undefined || value.length === 0) throw decodeError('empty record value');
  try {
    return JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw decodeError(`value is not JSON: ${(err as Error).message}`, err);
  }
}

/**
 * A schema-1 value (the normalized event as JSON) → its event. Checks the shape only as far as
 * consumers rely on it (a known `type`, a symbol on symbol-keyed events), so a record from a
 * foreign producer or a truncated write becomes a dead letter instead of crashing a consumer
 * further down. `typeHeader`: the record's `tickflow-type`, when it has one.
 */
export function decodeBusEvent(value: Buffer | undefined, typeHeader: string | undefined): BusEvent {
  const parsed = parseValue(value);
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw decodeError('value is not a JSON object');
  const record = parsed as Record<string, unknown>;
  const type = record.type;
  if (typeof type !== 'string') throw decodeError('value has no string "type"');
  if (typeHeader !== undefined && typeHeader !== type) throw decodeError(`header ${TYPE_HEADER}=${typeHeader} but value type=${type}`);
  if (MARKET_TYPES.has(type)) {
    // The instrument (exchange, market, symbol) is the record's identity: an exchange the source
    // registry does not know, or a market it does not list, would be stored as an instrument no
    // query can name (schema 2 refuses both in decodePayloadRecord).
    for (const field of ['exchange', 'market', 'symbol']) {
      if (typeof record[field] !== 'string' || record[field] === '') throw decodeError(`${type} event without a string "${field}"`);
    }
    const entry = Object.hasOwn(exchanges, record.exchange as string) ? exchanges[record.exchange as string] : undefined;
    if (entry === undefined) throw decodeError(`${type} event of unknown exchange ${JSON.stringify(record.exchange)}`);
    if (!(entry.markets as readonly string[]).includes(record.market as string)) {
      throw decodeError(`${type} event of market ${JSON.stringify(record.market)}, which ${record.exchange as string} does not have`);
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
