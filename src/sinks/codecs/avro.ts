import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import avro from 'avsc';
import type { PipelineEvent } from '../../core/events.js';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import type { Codec } from './codec.js';

/**
 * Avro records, one record type per event kind (schemas/avro/<type>.avsc), in the Avro
 * specification's *single-object encoding*: `C3 01`, the 8-byte little-endian CRC-64-AVRO
 * fingerprint of the writer's schema, then the binary record. A reader finds the writer schema by
 * its fingerprint and resolves it against its own (Avro schema resolution), which is what makes
 * evolution work both ways: an old reader skips fields a newer writer added; a newer reader fills
 * fields an old writer lacked from their defaults.
 *
 * Decimals are Avro `string`s holding the exchange's text. The `decimal` logical type needs one
 * scale per schema, but Binance's scale varies by market and symbol (spot prints 8 decimals,
 * USD-M BTCUSDT 2 for prices and 3 for quantities): any fixed scale would change "0.014" into
 * "0.01400000" or lose digits. Strings keep the exact value and its text, as JSON and the NUMERIC
 * columns do.
 */

const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER = MAGIC.length + 8;

/** The folder of the shipped schemas (repository root `schemas/avro`, also in the npm package). */
export const SCHEMA_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'schemas', 'avro');

const EMPTY = 0xc15d213aa4d7a795n;
let table: bigint[] | undefined;

/** CRC-64-AVRO ("Schema Fingerprints" in the Avro specification) of a schema's Parsing Canonical Form. */
export function fingerprint(canonical: string): Buffer {
  table ??= Array.from({ length: 256 }, (_, i) => {
    let fp = BigInt(i);
    for (let j = 0; j < 8; j++) fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n));
    return fp;
  });
  let fp = EMPTY;
  for (const byte of Buffer.from(canonical, 'utf8')) fp = (fp >> 8n) ^ (table[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  const out = Buffer.alloc(8);
  out.writeBigUInt64LE(fp);
  return out;
}

/** Avro has no `undefined`: absent optional fields travel as null and are dropped again on decode. */
function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(record)) if (v !== null) out[k] = v;
  return out;
}

type Level = { price: string; quantity: string };

/** Event types whose levels are `[price, quantity]` pairs on the event and PriceLevel records in Avro. */
const WITH_LEVELS = new Set(['depth', 'depthSnapshot', 'bookSnapshot']);

/** The record of an event: without its `type` (the record name says it), depth levels as PriceLevel records. */
function toRecord(event: PipelineEvent): Record<string, unknown> {
  const { type: _type, ...fields } = event;
  if (!('bids' in event)) return fields;
  const level = ([price, quantity]: readonly [string, string]): Level => ({ price, quantity });
  return { ...fields, bids: event.bids.map(level), asks: event.asks.map(level) };
}

function fromRecord(type: string, record: Record<string, unknown>): PipelineEvent {
  if (WITH_LEVELS.has(type)) {
    const levels = (v: unknown) => (v as Level[]).map((l) => [l.price, l.quantity] as const);
    return { type, ...record, bids: levels(record.bids), asks: levels(record.asks) } as unknown as PipelineEvent;
  }
  return { type, ...record } as unknown as PipelineEvent;
}

const eventType = (recordName: string): string => {
  const short = recordName.slice(recordName.lastIndexOf('.') + 1);
  return short[0]?.toLowerCase() + short.slice(1);
};

interface Writer {
  readonly type: avro.Type;
  readonly header: Buffer;
}

/**
 * An Avro codec over a set of schemas: the reader (and writer) schema per event type, plus any
 * other writer schemas it should understand (older or newer versions), found by fingerprint.
 */
export class AvroCodec implements Codec {
  readonly name = 'avro';
  private readonly writers = new Map<string, Writer>();
  private readonly readers = new Map<string, avro.Type>();
  /** Fingerprint (hex) → a resolver from that writer schema to our reader schema of its type. */
  private readonly resolvers = new Map<string, { type: string; writer: avro.Type; resolver: avro.Resolver }>();

  constructor(schemas: readonly object[], otherWriters: readonly object[] = []) {
    for (const schema of schemas) {
      const type = avro.Type.forSchema(schema as avro.Schema) as avro.Type & { name: string };
      const name = eventType(type.name);
      const header = Buffer.concat([MAGIC, fingerprint(canonical(type))]);
      this.writers.set(name, { type, header });
      this.readers.set(name, type);
    }
    for (const schema of [...schemas, ...otherWriters]) this.learn(schema);
  }

  /** Understands records written with `schema` from now on (e.g. a newer producer's version). */
  learn(schema: object): void {
    const writer = avro.Type.forSchema(schema as avro.Schema) as avro.Type & { name: string };
    const type = eventType(writer.name);
    const reader = this.readers.get(type);
    if (!reader) throw new TickflowError(ErrorCodes.CONFIG_INVALID, `Avro schema ${writer.name} is not an event type this build reads`);
    this.resolvers.set(fingerprint(canonical(writer)).toString('hex'), { type, writer, resolver: reader.createResolver(writer) });
  }

  encode(event: PipelineEvent): Buffer {
    const writer = this.writers.get(event.type);
    if (!writer) throw new TickflowError(ErrorCodes.DECODE, `no Avro schema for event type ${event.type}`);
    return Buffer.concat([writer.header, writer.type.toBuffer(toRecord(event))]);
  }

  decode(bytes: Buffer): PipelineEvent {
    if (bytes.length < HEADER || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) throw decodeError('not Avro single-object encoding (no C3 01 marker)');
    const key = bytes.subarray(2, HEADER).toString('hex');
    const known = this.resolvers.get(key);
    if (!known) throw decodeError(`unknown Avro writer schema (fingerprint ${key})`);
    let record: Record<string, unknown>;
    try {
      record = this.readers.get(known.type)!.fromBuffer(bytes.subarray(HEADER), known.resolver) as Record<string, unknown>;
    } catch (err) {
      throw decodeError(`Avro ${known.type} record does not decode: ${(err as Error).message}`, err);
    }
    return fromRecord(known.type, withoutNulls({ ...record }));
  }
}

/** The schema's Parsing Canonical Form: avsc's `schema()` without attributes (its own `fingerprint` offers md5/sha256 only). */
function canonical(type: avro.Type): string {
  return JSON.stringify(type.schema());
}

function decodeError(message: string, cause?: unknown): TickflowError {
  return new TickflowError(ErrorCodes.DECODE, message, { cause });
}

/** Every schema in `dir` (schemas/avro by default), parsed. */
export function loadSchemas(dir = SCHEMA_DIR): object[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.avsc'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8')) as object);
}

/** The codec over the shipped schemas. */
export function shippedAvroCodec(): AvroCodec {
  return new AvroCodec(loadSchemas());
}
