import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeEvent,
  decodeRecord,
  encodeEvent,
  INGESTED_HEADER,
  MAX_DEAD_LETTER_BYTES,
  PAYLOAD_SCHEMA_VERSION,
  RecordEncoder,
  SCHEMA_HEADER,
  SCHEMA_VERSION,
  TIME_UNIT_HEADER,
  TYPE_HEADER,
} from '../../../src/bus/kafka/index.js';
import { Reader, readRecordsBatch } from '@platformatic/kafka';
import type { EncodedRecord } from '../../../src/bus/kafka/codec.js';
import { encodeRecordBatch } from '../../../src/bus/kafka/record-batch.js';
import { ErrorCodes, TickflowError } from '../../../src/core/errors.js';
import type { DeadLetterEvent, Market, PipelineEvent, TimeUnit } from '../../../src/core/events.js';
import type { ExchangePayload } from '../../../src/core/payloads.js';
import { parseFrame } from '../../../src/sources/binance/parse.js';
import { sharedData } from '../../support/data.js';
import { btcTradeGap, EVERY_KIND } from '../../support/events.js';
import { receivedMicros, recordedFrames } from '../../support/recordings.js';
import { trade } from './helpers.js';

test('an event survives encode and decode unchanged, decimals as strings', () => {
  // The local order book's top levels (bookSnapshot) travel to the store role like the exchange's records (docs/book.md).
  for (const event of [trade('ETHUSDT', 7), ...EVERY_KIND]) {
    const value = encodeEvent(event);
    assert.equal(value.toString('utf8'), JSON.stringify(event));
    assert.deepEqual(decodeEvent(value, event.type), event);
  }
});

test('values that are not tickflow events are refused with TF_DECODE', () => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ['{not json', undefined],
    ['[1,2]', undefined],
    ['{"type":"trade","exchange":"binance"}', 'trade'],
    ['{"type":"order","symbol":"BTCUSDT","exchange":"binance"}', undefined],
    [JSON.stringify(trade('BTCUSDT', 1)), 'bookTicker'],
  ];
  for (const [value, header] of cases) {
    assert.throws(
      () => decodeEvent(value === undefined ? undefined : Buffer.from(value), header),
      (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.DECODE,
      String(value),
    );
  }
});

/** Every record a recording yields, encoded as ingest writes it (schema 2 where the payload could be cut out). */
async function recorded(path: string, market: Market, timeUnit: TimeUnit = 'MILLISECOND'): Promise<{ event: PipelineEvent; payload: ExchangePayload }[]> {
  return (await recordedFrames(path)).flatMap((f) => {
    const r = parseFrame(f.raw, market, receivedMicros(f), timeUnit);
    return r.ok === true && r.payload !== null ? [{ event: r.event, payload: { text: r.payload, timeUnit } }] : [];
  });
}

test("schema 2: Binance's own payload + key + headers decode to exactly the event the source made, for every recorded frame", async (t) => {
  const files: [string, string, Market][] = [
    ['binance-spot-ws', 'btcusdt_20240808.gz', 'spot'],
    ['binance-usdm-ws', 'btcusdt_20240808.gz', 'usdm'],
  ];
  const encoder = new RecordEncoder();
  for (const [dir, file, market] of files) {
    const path = sharedData(t, dir, file);
    if (!path) return;
    const types = new Set<string>();
    let n = 0;
    const input = await recorded(path, market);
    const records = consumed(input.map(({ event, payload }) => encoder.encode(event, payload, 'trades')));
    for (const [i, { event, payload }] of input.entries()) {
      const record = records[i]!;
      assert.equal(record.value.toString('utf8'), payload.text, 'the value is the exchange bytes');
      assert.equal(header(record.headers, SCHEMA_HEADER), PAYLOAD_SCHEMA_VERSION);
      assert.deepEqual(decodeRecord(record.key, record.value, record.headers), event);
      types.add(event.type);
      n++;
    }
    assert.deepEqual([...types].sort(), ['bookTicker', 'depth', 'trade'], file);
    assert.ok(n > 10_000, `${file}: ${n} records`);
  }
});

test('schema 2 keeps microsecond times: the time unit travels in a header', () => {
  const raw =
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343123,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342999,"m":true,"M":true}}';
  const r = parseFrame(raw, 'spot', 1723161255400000, 'MICROSECOND');
  assert.ok(r.ok === true && r.payload !== null);
  const [record] = consumed([new RecordEncoder().encode(r.event, { text: r.payload, timeUnit: 'MICROSECOND' }, 'trades')]);
  assert.ok(record);
  assert.equal(header(record.headers, TIME_UNIT_HEADER), 'MICROSECOND');
  const decoded = decodeRecord(record.key, record.value, record.headers);
  assert.deepEqual(decoded, r.event);
  assert.ok(decoded.type === 'trade' && decoded.tradeTimeMicros === 1723161255342999 && decoded.tradeTime === 1723161255342);
});

test('schema 1 (records written before schema 2, and what tickflow makes itself) still decodes, with or without headers', () => {
  const encoder = new RecordEncoder();
  const gap = btcTradeGap(5, 7, 9);
  for (const event of [trade('BTCUSDT', 3), gap]) {
    const [record] = consumed([encoder.encode(event, undefined, 'trades')]);
    assert.ok(record);
    assert.equal(header(record.headers, SCHEMA_HEADER), SCHEMA_VERSION);
    assert.equal(record.value.toString('utf8'), JSON.stringify(event));
    assert.deepEqual(decodeRecord(record.key, record.value, record.headers), event);
    // A foreign producer's JSON without tickflow headers.
    assert.deepEqual(decodeRecord(undefined, record.value, new Map()), event);
  }
});

test('schema 2 records that do not hold together are refused with TF_DECODE, saying why', () => {
  const data = '{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":1,"p":"1.5","q":"2.0","T":1723161255342,"m":true,"M":true}';
  const headers = (over: Record<string, string | undefined> = {}): Map<Buffer, Buffer> => {
    const all: Record<string, string | undefined> = {
      [TYPE_HEADER]: 'trade',
      [SCHEMA_HEADER]: PAYLOAD_SCHEMA_VERSION,
      [INGESTED_HEADER]: '1723161255400000',
      ...over,
    };
    return new Map(Object.entries(all).flatMap(([k, v]) => (v === undefined ? [] : [[Buffer.from(k), Buffer.from(v)] as [Buffer, Buffer]])));
  };
  const cases: [string, string | undefined, string, Map<Buffer, Buffer>, RegExp][] = [
    ['good', 'binance:spot:BTCUSDT', data, headers(), /^$/],
    // A foreign header whose name is as long as tickflow-type's is not read as the type.
    ['good', 'binance:spot:BTCUSDT', data, headers({ 'x-trace-types': 'gap' }), /^$/],
    ['no key', undefined, data, headers(), /exchange:market:symbol key/],
    ['bare symbol key', 'BTCUSDT', data, headers(), /exchange:market:symbol key/],
    ['unknown exchange', 'kraken:spot:BTCUSDT', data, headers(), /unknown exchange "kraken"/],
    ['unknown market', 'binance:coinm:BTCUSDT', data, headers(), /no market "coinm"/],
    ['key of another symbol', 'binance:spot:ETHUSDT', data, headers(), /key names ETHUSDT but the payload is BTCUSDT's/],
    ['no type', 'binance:spot:BTCUSDT', data, headers({ [TYPE_HEADER]: undefined }), /without tickflow-type/],
    ['type of no payload', 'binance:spot:BTCUSDT', data, headers({ [TYPE_HEADER]: 'gap' }), /no Binance stream payload carries "gap"/],
    ['wrong type', 'binance:spot:BTCUSDT', data, headers({ [TYPE_HEADER]: 'aggTrade' }), /"e" is "trade", expected "aggTrade"/],
    ['no ingestion time', 'binance:spot:BTCUSDT', data, headers({ [INGESTED_HEADER]: undefined }), /tickflow-ingested/],
    ['ingestion time not an integer', 'binance:spot:BTCUSDT', data, headers({ [INGESTED_HEADER]: '1.5e15' }), /tickflow-ingested/],
    ['ingestion time of 17 digits', 'binance:spot:BTCUSDT', data, headers({ [INGESTED_HEADER]: '17231612554000000' }), /tickflow-ingested/],
    ['ingestion time empty', 'binance:spot:BTCUSDT', data, headers({ [INGESTED_HEADER]: '' }), /tickflow-ingested/],
    ['bad time unit', 'binance:spot:BTCUSDT', data, headers({ [TIME_UNIT_HEADER]: 'NANOSECOND' }), /NANOSECOND/],
    ['unknown schema', 'binance:spot:BTCUSDT', data, headers({ [SCHEMA_HEADER]: '3' }), /unknown tickflow-schema "3"/],
    ['not JSON', 'binance:spot:BTCUSDT', '{"e":"trade",', headers(), /not JSON/],
    ['not an object', 'binance:spot:BTCUSDT', '[1]', headers(), /payload is not a JSON object/],
    ['bad decimal', 'binance:spot:BTCUSDT', data.replace('"1.5"', '"1,5"'), headers(), /"p" is missing or not a decimal string/],
  ];
  // Each case twice, the key as bytes and as the text the consumer decoded already.
  for (const asText of [false, true]) {
    for (const [name, key, value, h, reason] of cases) {
      const decode = () => decodeRecord(key === undefined || asText ? key : Buffer.from(key), Buffer.from(value), h);
      if (name === 'good') {
        assert.equal(decode().type, 'trade');
        continue;
      }
      assert.throws(decode, (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.DECODE && reason.test(err.message), name);
    }
  }
});

test('a record on a topic its type does not belong to, and a schema-1 instrument the registry does not know, are refused with TF_DECODE', () => {
  const now = 1_723_161_255_400;
  const h = (type: string, schema: string): Map<Buffer, Buffer> =>
    new Map([
      [Buffer.from(TYPE_HEADER), Buffer.from(type)],
      [Buffer.from(SCHEMA_HEADER), Buffer.from(schema)],
      [Buffer.from(INGESTED_HEADER), Buffer.from(String(now * 1000))],
    ]);
  const key = Buffer.from('binance:spot:BTCUSDT');
  // Binance's spot bookTicker payload, as ingest forwards it (schema 2), but on the trades topic.
  const bookTicker = Buffer.from('{"u":400900217,"s":"BTCUSDT","b":"61837.99","B":"3.1","a":"61838.00","A":"0.2"}');
  assert.equal(decodeRecord(key, bookTicker, h('bookTicker', PAYLOAD_SCHEMA_VERSION), 'bookTicker').type, 'bookTicker');
  const refused = (fn: () => unknown, reason: RegExp) =>
    assert.throws(fn, (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.DECODE && reason.test(err.message));
  refused(
    () => decodeRecord(key, bookTicker, h('bookTicker', PAYLOAD_SCHEMA_VERSION), 'trades'),
    /a bookTicker record on the trades topic \(it belongs on bookTicker\)/,
  );
  const trade = (exchange: string, market: string) =>
    Buffer.from(
      JSON.stringify({
        type: 'trade',
        exchange,
        market,
        symbol: 'BTCUSDT',
        eventTime: now,
        ingestionTimestamp: now * 1000,
        tradeId: 4,
        price: '1',
        quantity: '0.1',
        tradeTime: now,
        buyerIsMaker: false,
      }),
    );
  assert.equal(decodeRecord(key, trade('binance', 'usdm'), h('trade', SCHEMA_VERSION), 'trades').type, 'trade');
  refused(() => decodeRecord(key, trade('nope', 'spot'), h('trade', SCHEMA_VERSION), 'trades'), /trade event of unknown exchange "nope"/);
  refused(() => decodeRecord(key, trade('binance', 'moon'), h('trade', SCHEMA_VERSION), 'trades'), /trade event of market "moon", which binance does not have/);
});

/** Records as a consumer reads them: written into one record batch as the bus sends it, read back by the library. */
function consumed(records: readonly EncodedRecord[]): { key: Buffer; value: Buffer; headers: Map<Buffer, Buffer> }[] {
  const batch = readRecordsBatch(
    Reader.from(encodeRecordBatch(records, { producerId: 1n, producerEpoch: 0, baseSequence: 0, timestampMs: 1, compression: 'none' })),
  );
  return batch.records.map((r) => ({ key: r.key!, value: r.value!, headers: new Map(r.headers.map(([k, v]) => [k!, v!])) }));
}

function header(headers: ReadonlyMap<Buffer, Buffer>, name: string): string | undefined {
  for (const [k, v] of headers) if (k.toString() === name) return v.toString();
  return undefined;
}

test('a dead letter over MAX_DEAD_LETTER_BYTES keeps the start of its raw and says how much', () => {
  // Control characters take 6 bytes of JSON each (\u0001), U+FFFD (an invalid UTF-8 byte) 3.
  for (const raw of ['\u0001'.repeat(1_000_000), '\ufffd'.repeat(2_000_000), 'x'.repeat(5_000_000)]) {
    const letter: DeadLetterEvent = {
      type: 'deadLetter',
      origin: 'kafka:binance.trades',
      reason: 'undecodable_record',
      detail: 'value is not JSON',
      raw,
      receivedAt: 1,
    };
    const value = encodeEvent(letter);
    assert.ok(value.length <= MAX_DEAD_LETTER_BYTES, `${value.length} bytes`);
    const decoded = decodeEvent(value, 'deadLetter') as DeadLetterEvent;
    assert.ok(decoded.raw.length > 0 && raw.startsWith(decoded.raw), 'raw keeps its start');
    assert.match(decoded.detail, new RegExp(`^value is not JSON \\(raw cut to its first ${decoded.raw.length} of ${raw.length} characters`));
  }
});
