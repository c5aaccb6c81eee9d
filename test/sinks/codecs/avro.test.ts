import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineEvent } from '../../../src/core/events.js';
import { ErrorCodes, TickflowError } from '../../../src/core/errors.js';
import { AvroCodec, fingerprint, loadSchemas, shippedAvroCodec } from '../../../src/sinks/codecs/avro.js';
import { jsonCodec } from '../../../src/sinks/codecs/json.js';

/** One event of every kind, in the shapes the Binance source emits (spot and USD-M scales). */
export const EVERY_KIND: readonly PipelineEvent[] = [
  {
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161600001,
    ingestionTimestamp: 1723161600001234,
    tradeId: 3740000001,
    price: '61234.56000000',
    quantity: '0.00120000',
    tradeTime: 1723161600000,
    buyerIsMaker: false,
  },
  {
    type: 'aggTrade',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'BTCUSDT',
    eventTime: 1723161600002,
    ingestionTimestamp: 1723161600002999,
    aggTradeId: 2260000001,
    price: '61800.30',
    quantity: '0.014',
    firstTradeId: 5120000001,
    lastTradeId: 5120000003,
    tradeTime: 1723161600001,
    buyerIsMaker: true,
  },
  {
    type: 'bookTicker',
    exchange: 'binance',
    market: 'spot',
    symbol: 'ETHUSDT',
    eventTime: 1723161600003,
    ingestionTimestamp: 1723161600003000,
    updateId: 48000000001,
    bidPrice: '2612.30000000',
    bidQty: '1.20000000',
    askPrice: '2612.31000000',
    askQty: '0.00010000',
  },
  {
    type: 'bookTicker',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'ETHUSDT',
    eventTime: 1723161600004,
    ingestionTimestamp: 1723161600004000,
    updateId: 4800001,
    bidPrice: '2612.30',
    bidQty: '12.000',
    askPrice: '2612.31',
    askQty: '0.001',
    transactionTime: 1723161600003,
  },
  {
    type: 'depth',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'BTCUSDT',
    eventTime: 1,
    ingestionTimestamp: 2,
    firstUpdateId: 10,
    finalUpdateId: 12,
    prevFinalUpdateId: 9,
    transactionTime: 1,
    bids: [
      ['61234.50', '0.001'],
      ['61234.40', '0'],
    ],
    asks: [],
  },
  {
    type: 'kline',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161660000,
    ingestionTimestamp: 1723161660000100,
    interval: '1m',
    openTime: 1723161600000,
    closeTime: 1723161659999,
    firstTradeId: 1,
    lastTradeId: 9,
    open: '61234.56000000',
    high: '61300.00000000',
    low: '61200.01000000',
    close: '61250.00000000',
    volume: '12.34567000',
    quoteVolume: '756234.12345670',
    tradeCount: 9,
    takerBuyVolume: '6.00000000',
    takerBuyQuoteVolume: '367500.00000000',
    closed: true,
  },
  {
    type: 'gap',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    stream: 'trade',
    firstMissingId: 104,
    lastMissingId: 110,
    detectedAt: 1723161600500,
    reason: 'reconnect',
  },
  {
    type: 'deadLetter',
    origin: 'binance-ws',
    reason: 'malformed_json',
    detail: 'Unexpected token',
    raw: '{"stream":"btcusdt@trade","data":{',
    receivedAt: 1723161600600,
  },
  // Fields events gained after the first schemas: µs times (timeUnit=MICROSECOND), the USD-M trade
  // type, the dead-letter sequence, and REST depth snapshots from recordings.
  {
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161600001,
    eventTimeMicros: 1723161600001234,
    ingestionTimestamp: 1723161600001300,
    tradeId: 3740000002,
    price: '61234.56000000',
    quantity: '0.00120000',
    tradeTime: 1723161600000,
    tradeTimeMicros: 1723161600000999,
    buyerIsMaker: true,
  },
  {
    type: 'trade',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'BTCUSDT',
    eventTime: 1723161600005,
    ingestionTimestamp: 1723161600005100,
    tradeId: 5120000009,
    price: '61800.30',
    quantity: '0.500',
    tradeTime: 1723161600004,
    buyerIsMaker: false,
    tradeType: 'INSURANCE_FUND',
  },
  {
    type: 'aggTrade',
    exchange: 'binance',
    market: 'spot',
    symbol: 'ETHUSDT',
    eventTime: 1723161600006,
    eventTimeMicros: 1723161600006001,
    ingestionTimestamp: 1723161600006100,
    aggTradeId: 7,
    price: '2612.30000000',
    quantity: '1.00000000',
    firstTradeId: 8,
    lastTradeId: 9,
    tradeTime: 1723161600005,
    tradeTimeMicros: 1723161600005500,
    buyerIsMaker: false,
  },
  {
    type: 'bookTicker',
    exchange: 'binance',
    market: 'spot',
    symbol: 'ETHUSDT',
    eventTime: 1723161600007,
    eventTimeMicros: 1723161600007007,
    ingestionTimestamp: 1723161600007100,
    updateId: 48000000002,
    bidPrice: '2612.30000000',
    bidQty: '1.20000000',
    askPrice: '2612.31000000',
    askQty: '0.00010000',
  },
  {
    type: 'depth',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161600008,
    eventTimeMicros: 1723161600008008,
    ingestionTimestamp: 1723161600008100,
    firstUpdateId: 13,
    finalUpdateId: 14,
    bids: [],
    asks: [['61234.51000000', '0.50000000']],
  },
  {
    type: 'kline',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161660000,
    eventTimeMicros: 1723161660000001,
    ingestionTimestamp: 1723161660000100,
    interval: '1s',
    openTime: 1723161659000,
    closeTime: 1723161659999,
    firstTradeId: -1,
    lastTradeId: -1,
    open: '0.00000000',
    high: '0.00000000',
    low: '0.00000000',
    close: '0.00000000',
    volume: '0.00000000',
    quoteVolume: '0.00000000',
    tradeCount: 0,
    takerBuyVolume: '0.00000000',
    takerBuyQuoteVolume: '0.00000000',
    closed: false,
  },
  {
    type: 'depthSnapshot',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'BTCUSDT',
    eventTime: 1723161600009,
    ingestionTimestamp: 1723161600009100,
    lastUpdateId: 4800000123,
    transactionTime: 1723161600008,
    bids: [['61234.50', '1.000']],
    asks: [
      ['61234.60', '0.002'],
      ['61234.70', '3.100'],
    ],
  },
  { type: 'deadLetter', origin: 'replay', reason: 'invalid_field', detail: 'p is not a decimal', raw: '{}', receivedAt: 1723161600600, seq: 3 },
  {
    type: 'bookSnapshot',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    updateId: 4800000200,
    depth: 20,
    bids: [['61234.50000000', '1.00000000']],
    asks: [],
    takenAt: 1723161600700,
  },
];

test('CRC-64-AVRO fingerprints match the Avro specification test vector', () => {
  // SchemaNormalization.fingerprint64("null") in the Java reference implementation.
  assert.equal(fingerprint('"null"').readBigUInt64LE(), 0x63dd24e7cc258f8an);
});

test('every event kind round-trips through Avro and JSON unchanged: decimals exact, optional fields absent stay absent', () => {
  const avro = shippedAvroCodec();
  for (const codec of [avro, jsonCodec]) {
    for (const event of EVERY_KIND) assert.deepEqual(codec.decode(codec.encode(event)), event, `${codec.name} ${event.type}`);
  }
  // One schema per event kind.
  assert.deepEqual(
    loadSchemas()
      .map((s) => (s as { name: string }).name)
      .sort(),
    ['AggTrade', 'BookSnapshot', 'BookTicker', 'DeadLetter', 'Depth', 'DepthSnapshot', 'Gap', 'Kline', 'Trade'],
  );
});

test('bytes that are not a known Avro record are TF_DECODE errors, never a crash', () => {
  const avro = shippedAvroCodec();
  const good = avro.encode(EVERY_KIND[0]!);
  const unknownWriter = Buffer.from(good);
  unknownWriter[3] = (unknownWriter[3] ?? 0) ^ 0xff;
  for (const bytes of [Buffer.alloc(0), Buffer.from('{"type":"trade"}'), unknownWriter, good.subarray(0, 14)]) {
    assert.throws(
      () => avro.decode(bytes),
      (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.DECODE,
      bytes.toString('hex'),
    );
  }
});

/** The shipped trade schema with one more field, as the next version would add it (with a default). */
function tradeV2(): object {
  const v1 = loadSchemas().find((s) => (s as { name: string }).name === 'Trade') as { fields: object[] };
  return { ...v1, fields: [...v1.fields, { name: 'isBestMatch', type: ['null', 'boolean'], default: null }] };
}

test('schema evolution, new writer → old reader: the field the old reader does not know is skipped', () => {
  const schemas = loadSchemas();
  const newWriter = new AvroCodec(schemas.map((s) => ((s as { name: string }).name === 'Trade' ? tradeV2() : s)));
  const oldReader = new AvroCodec(schemas, [tradeV2()]);
  const written = newWriter.encode({ ...(EVERY_KIND[0] as object), isBestMatch: true } as unknown as PipelineEvent);
  assert.deepEqual(oldReader.decode(written), EVERY_KIND[0]);
});

test('schema evolution, old writer → new reader: the added field takes its default', () => {
  const schemas = loadSchemas();
  const oldWriter = shippedAvroCodec();
  const newReader = new AvroCodec(
    schemas.map((s) => ((s as { name: string }).name === 'Trade' ? tradeV2() : s)),
    [schemas.find((s) => (s as { name: string }).name === 'Trade')!],
  );
  // The default is null, which an event leaves out (undefined), so the decoded event equals the old one.
  assert.deepEqual(newReader.decode(oldWriter.encode(EVERY_KIND[0]!)), EVERY_KIND[0]);
  const withValue = {
    ...tradeV2(),
    fields: [...(tradeV2() as { fields: object[] }).fields.slice(0, -1), { name: 'isBestMatch', type: 'boolean', default: true }],
  };
  const strictReader = new AvroCodec(
    schemas.map((s) => ((s as { name: string }).name === 'Trade' ? withValue : s)),
    [schemas.find((s) => (s as { name: string }).name === 'Trade')!],
  );
  assert.deepEqual(strictReader.decode(oldWriter.encode(EVERY_KIND[0]!)), { ...EVERY_KIND[0], isBestMatch: true });
});

/** A shipped schema as it was before the fields added with defaults (µs times, tradeType, seq): the previous version. */
function withoutAddedFields(schema: object): object {
  const added = new Set(['eventTimeMicros', 'tradeTimeMicros', 'tradeType', 'seq']);
  const s = schema as { fields: { name: string }[] };
  return { ...s, fields: s.fields.filter((f) => !added.has(f.name)) };
}

test('the added fields evolve both ways: a reader of the previous schemas drops them, records of a previous writer read without them', () => {
  const schemas = loadSchemas();
  const isNew = (s: object) => ['DepthSnapshot', 'BookSnapshot'].includes((s as { name: string }).name);
  const previous = schemas.filter((s) => !isNew(s)).map(withoutAddedFields);
  const current = shippedAvroCodec();
  const previousCodec = new AvroCodec(previous);
  const oldReader = new AvroCodec(
    previous,
    schemas.filter((s) => !isNew(s)),
  );
  const added = new Set(['eventTimeMicros', 'tradeTimeMicros', 'tradeType', 'seq']);
  let checked = 0;
  for (const event of EVERY_KIND.filter((e) => Object.keys(e).some((k) => added.has(k)))) {
    const stripped = Object.fromEntries(Object.entries(event).filter(([k]) => !added.has(k))) as unknown as PipelineEvent;
    assert.deepEqual(oldReader.decode(current.encode(event)), stripped, `new writer → old reader, ${event.type}`);
    for (const s of previous) current.learn(s);
    assert.deepEqual(current.decode(previousCodec.encode(stripped)), stripped, `old writer → new reader, ${event.type}`);
    checked++;
  }
  assert.equal(checked, 7);
});
