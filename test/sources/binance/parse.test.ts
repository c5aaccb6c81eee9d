import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { isMarketTrade, type Market } from '../../../src/core/events.js';
import { type ParseResult, parseFrame } from '../../../src/sources/binance/parse.js';
import { sharedData } from '../../support/data.js';
import { type RecordedFrame, readCryptofeed, receivedMicros, recordedFrames } from '../../support/recordings.js';

const AT = 1_723_161_254_087_896; // an ingestion time in µs

function tally(frames: readonly RecordedFrame[], market: Market): { counts: Record<string, number>; deadLetters: string[] } {
  const counts: Record<string, number> = {};
  const deadLetters: string[] = [];
  for (const f of frames) {
    const r = parseFrame(f.raw, market, receivedMicros(f));
    const key = r.ok === true ? r.event.type : r.ok === false ? `deadLetter:${r.reason}` : `control:${r.control.kind}`;
    counts[key] = (counts[key] ?? 0) + 1;
    if (r.ok === false) deadLetters.push(f.raw);
  }
  return { counts, deadLetters };
}

function parsed(raw: string, market: Market = 'spot', at = AT): ParseResult & { ok: true } {
  const r = parseFrame(raw, market, at);
  assert.equal(r.ok, true, JSON.stringify(r));
  return r as ParseResult & { ok: true };
}

function rejected(raw: string, market: Market = 'spot'): ParseResult & { ok: false } {
  const r = parseFrame(raw, market, AT);
  assert.equal(r.ok, false, JSON.stringify(r));
  return r as ParseResult & { ok: false };
}

function lineOf(frames: readonly RecordedFrame[], needle: string): RecordedFrame {
  const f = frames.find((x) => x.raw.includes(needle));
  assert.ok(f, `no recorded line contains ${needle}`);
  return f;
}

test('spot recordings: every frame parses, the REST depth snapshot line is recognised', async (t) => {
  const expected: Record<string, Record<string, number>> = {
    'btcusdt_20240808.gz': { depth: 3451, bookTicker: 28040, trade: 9757, 'control:depthSnapshot': 1 },
    'btcusdt_20240809.gz': { depth: 3044, bookTicker: 45134, trade: 10147 },
    'ethusdt_20240808.gz': { depth: 3434, bookTicker: 24077, trade: 6106, 'control:depthSnapshot': 1 },
    'ethusdt_20240809.gz': { depth: 3036, bookTicker: 34681, trade: 8409 },
  };
  for (const [file, counts] of Object.entries(expected)) {
    const path = sharedData(t, 'binance-spot-ws', file);
    if (!path) return;
    const result = tally(await recordedFrames(path), 'spot');
    assert.deepEqual(result.counts, counts, file);
    assert.deepEqual(result.deadLetters, [], file);
  }
});

test('spot trade, bookTicker and depth: exact fields of recorded lines', async (t) => {
  const path = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (!path) return;
  const frames = await recordedFrames(path);

  const trade = lineOf(frames, '"t":3735683259,');
  assert.deepEqual(parsed(trade.raw, 'spot', receivedMicros(trade)), {
    ok: true,
    stream: 'btcusdt@trade',
    event: {
      type: 'trade',
      exchange: 'binance',
      market: 'spot',
      symbol: 'BTCUSDT',
      eventTime: 1723161255343,
      ingestionTimestamp: 1723161254087896,
      tradeId: 3735683259,
      price: '61837.63000000',
      quantity: '0.02000000',
      tradeTime: 1723161255342,
      buyerIsMaker: true,
    },
    // Binance's own bytes of `data`, forwarded as the Kafka record value (schema 2).
    payload: '{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}',
  });

  // Spot bookTicker has no E: the event time is the ingestion time in ms.
  const book = lineOf(frames, '"u":50093239212,');
  assert.deepEqual(parsed(book.raw, 'spot', receivedMicros(book)).event, {
    type: 'bookTicker',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161254087,
    ingestionTimestamp: 1723161254087891,
    updateId: 50093239212,
    bidPrice: '61837.63000000',
    bidQty: '3.78826000',
    askPrice: '61837.64000000',
    askQty: '1.54698000',
  });

  const depth = lineOf(frames, '"U":50093239203,');
  assert.deepEqual(parsed(depth.raw, 'spot', receivedMicros(depth)).event, {
    type: 'depth',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 1723161255308,
    ingestionTimestamp: 1723161254036059,
    firstUpdateId: 50093239203,
    finalUpdateId: 50093239207,
    bids: [['55653.87000000', '0.00000000']],
    asks: [
      ['61838.04000000', '0.32332000'],
      ['61844.30000000', '0.40163000'],
      ['61862.50000000', '0.05019000'],
      ['61862.51000000', '0.00000000'],
    ],
  });
});

test('USD-M recording: trade with X, bookTicker with E/T, depth@0ms with pu/T', async (t) => {
  const path = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (!path) return;
  const frames = await recordedFrames(path);
  const result = tally(frames, 'usdm');
  assert.deepEqual(result.counts, { depth: 6551, bookTicker: 66089, trade: 21313, 'control:depthSnapshot': 1 });

  const trade = lineOf(frames, '"t":5266583935,');
  assert.deepEqual(parsed(trade.raw, 'usdm', receivedMicros(trade)).event, {
    type: 'trade',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'BTCUSDT',
    eventTime: 1723161256322,
    ingestionTimestamp: 1723161255088176,
    tradeId: 5266583935,
    price: '61800.30',
    quantity: '0.006',
    tradeTime: 1723161256322,
    buyerIsMaker: false,
    tradeType: 'MARKET',
  });

  const book = lineOf(frames, '"u":5123107839020,');
  assert.deepEqual(parsed(book.raw, 'usdm', receivedMicros(book)).event, {
    type: 'bookTicker',
    exchange: 'binance',
    market: 'usdm',
    symbol: 'BTCUSDT',
    eventTime: 1723161256313,
    ingestionTimestamp: 1723161255088169,
    updateId: 5123107839020,
    bidPrice: '61800.20',
    bidQty: '2.507',
    askPrice: '61800.30',
    askQty: '2.510',
    transactionTime: 1723161256313,
  });

  const depthLine = lineOf(frames, '"U":5123107832006,');
  const depth = parsed(depthLine.raw, 'usdm', receivedMicros(depthLine));
  assert.equal(depth.stream, 'btcusdt@depth@0ms');
  assert.equal(depth.event.type, 'depth');
  if (depth.event.type !== 'depth') return;
  assert.equal(depth.event.firstUpdateId, 5123107832006);
  assert.equal(depth.event.finalUpdateId, 5123107837557);
  assert.equal(depth.event.prevFinalUpdateId, 5123107831937);
  assert.equal(depth.event.transactionTime, 1723161256298);
  assert.equal(depth.event.eventTime, 1723161256299);
  assert.deepEqual(depth.event.bids[0], ['58710.20', '0.014']);
  const raw = JSON.parse(depthLine.raw) as { data: { b: unknown[]; a: unknown[] } };
  assert.equal(depth.event.bids.length, raw.data.b.length);
  assert.equal(depth.event.asks.length, raw.data.a.length);
});

test('kind 11 (USD-M non-market trades): INSURANCE_FUND, ADL and NA trades are trades with their type, out of candles', async (t) => {
  const path = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (!path) return;
  const line = lineOf(await recordedFrames(path), '"t":5266583935,');
  for (const type of ['INSURANCE_FUND', 'ADL', 'NA']) {
    const r = parsed(line.raw.replace('"X":"MARKET"', `"X":"${type}"`), 'usdm');
    assert.equal(r.event.type, 'trade');
    if (r.event.type !== 'trade') return;
    assert.equal(r.event.tradeId, 5266583935);
    assert.equal(r.event.tradeType, type);
    assert.equal(r.event.quantity, '0.006');
    assert.equal(isMarketTrade(r.event), false, type);
  }
  const market = parsed(line.raw, 'usdm').event;
  assert.equal(market.type === 'trade' && isMarketTrade(market), true);
  assert.equal(rejected(line.raw.replace('"X":"MARKET"', '"X":7'), 'usdm').reason, 'invalid_field');
});

test('ws-fixtures: aggTrade, bookTicker with E/T, trade with buyer/seller order ids', (t) => {
  const dir = sharedData(t, 'ws-fixtures');
  if (!dir) return;
  const read = (name: string) => readFileSync(`${dir}/${name}`, 'utf8');
  assert.deepEqual(parsed(read('ws_spot_agg_trade.json')).event, {
    type: 'aggTrade',
    exchange: 'binance',
    market: 'spot',
    symbol: 'ETHUSDT',
    eventTime: 1675759520848,
    ingestionTimestamp: AT,
    aggTradeId: 226532,
    price: '1632.46000000',
    quantity: '0.34305000',
    firstTradeId: 228423,
    lastTradeId: 228423,
    tradeTime: 1675759520847,
    buyerIsMaker: false,
  });
  const book = parsed(read('ws_spot_ticker_book.json')).event;
  assert.equal(book.type, 'bookTicker');
  assert.equal(book.eventTime, 1646199228123);
  assert.equal(book.type === 'bookTicker' && book.transactionTime, 1646199228121);
  const trade = parsed(read('ws_spot_trade.json')).event;
  assert.equal(trade.type === 'trade' && trade.tradeId, 705291099);
  assert.equal(trade.type === 'trade' && trade.price, '4149.74000000');
});

test('cryptofeed session: depth, bookTicker, kline_1m and aggTrade on odd symbols', (t) => {
  const path = sharedData(t, 'cryptofeed-sample', 'BINANCE.ws.1.0');
  if (!path) return;
  const frames = readCryptofeed(path);
  assert.deepEqual(tally(frames, 'spot').counts, { depth: 177, bookTicker: 84, kline: 2, aggTrade: 2 });

  const kline = lineOf(frames, '"stream":"nknusdt@kline_1m"');
  assert.deepEqual(parsed(kline.raw, 'spot', receivedMicros(kline)).event, {
    type: 'kline',
    exchange: 'binance',
    market: 'spot',
    symbol: 'NKNUSDT',
    eventTime: 1633998523963,
    ingestionTimestamp: 1633998523957298,
    interval: '1m',
    openTime: 1633998480000,
    closeTime: 1633998539999,
    firstTradeId: 19862761,
    lastTradeId: 19862790,
    open: '0.35270000',
    high: '0.35280000',
    low: '0.35220000',
    close: '0.35280000',
    volume: '25877.00000000',
    quoteVolume: '9116.04600000',
    tradeCount: 30,
    takerBuyVolume: '58.00000000',
    takerBuyQuoteVolume: '20.46240000',
    closed: false,
  });

  const agg = parsed(lineOf(frames, '"stream":"lrcbtc@aggTrade"').raw).event;
  assert.equal(agg.type === 'aggTrade' && agg.price, '0.00000638');
  assert.equal(agg.symbol, 'LRCBTC');

  const depth = parsed(lineOf(frames, '"U":499869760,').raw).event;
  assert.deepEqual(depth.type === 'depth' && [depth.bids, depth.asks], [[], [['0.35380000', '3027.00000000']]]);

  const rune = parsed(lineOf(frames, '"s":"RUNEEUR"').raw).event;
  assert.equal(rune.symbol, 'RUNEEUR');
});

test('USD-M aggTrade and kline (payloads as in the USD-M stream docs)', () => {
  const agg = parsed(
    '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161256322,"s":"BTCUSDT","a":2270557012,"p":"61800.30","q":"0.006","f":5266583935,"l":5266583935,"T":1723161256322,"m":false}}',
    'usdm',
  ).event;
  assert.equal(agg.type === 'aggTrade' && agg.market, 'usdm');
  assert.equal(agg.type === 'aggTrade' && agg.firstTradeId, 5266583935);
  const kline = parsed(
    '{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1723161256322,"s":"BTCUSDT","k":{"t":1723161240000,"T":1723161299999,"s":"BTCUSDT","i":"1m","f":5266583000,"L":5266583935,"o":"61790.10","c":"61800.30","h":"61810.00","l":"61780.00","v":"120.512","n":936,"x":false,"q":"7446710.33110","V":"60.201","Q":"3719960.50300","B":"0"}}}',
    'usdm',
  ).event;
  assert.equal(kline.type === 'kline' && kline.close, '61800.30');
  assert.equal(kline.type === 'kline' && kline.tradeCount, 936);
});

test('invalid frames become precise dead-letter reasons', () => {
  const trade =
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342,"m":true,"M":true}}';
  assert.equal(rejected('{"stream":"btcusdt@trade","data":{"e":"tra').reason, 'malformed_json');
  assert.equal(rejected('[1,2]').reason, 'malformed_json');
  assert.equal(rejected(trade.replace('"61837.63000000"', '"61,837.63"')).reason, 'invalid_field');
  assert.equal(rejected(trade.replace('"61837.63000000"', '61837.63')).reason, 'invalid_field');
  assert.equal(rejected(trade.replace('"p":"61837.63000000",', '')).reason, 'invalid_field');
  assert.equal(rejected(trade.replace('"t":3735683259', '"t":"3735683259"')).reason, 'invalid_field');
  assert.equal(rejected(trade.replace('"e":"trade"', '"e":"aggTrade"')).reason, 'invalid_field');
  assert.match(rejected(trade.replace('"p":"61837.63000000",', '')).detail, /btcusdt@trade: "p"/);
  assert.equal(rejected(trade.replace('btcusdt@trade', 'btcusdt@ticker')).reason, 'unknown_stream');
  assert.equal(rejected(trade.replace('btcusdt@trade', 'btcusdt@depth5@100ms')).reason, 'unknown_stream');
  assert.equal(rejected('{"result":null,"id":1}').reason, 'unknown_stream');
  assert.equal(
    rejected('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1.0"]],"a":[]}}').reason,
    'invalid_field',
  );
});

test('serverShutdown is recognized bare, wrapped in "event", and inside a combined stream', () => {
  const expected = { kind: 'serverShutdown', eventTime: 1770123456789 };
  for (const raw of [
    '{"e":"serverShutdown","E":1770123456789}',
    '{"event":{"e":"serverShutdown","E":1770123456789}}',
    '{"stream":"btcusdt@trade","data":{"e":"serverShutdown","E":1770123456789}}',
  ]) {
    const r = parseFrame(raw, 'spot', AT);
    assert.equal(r.ok, 'control', raw);
    assert.deepEqual(r.ok === 'control' && r.control, expected);
  }
});

test('kind 3 (microsecond times): timeUnit=MICROSECOND frames keep their µs and floor to ms for windows', () => {
  // The spot recording's trade, as Binance sends it on a stream opened with timeUnit=MICROSECOND.
  const trade =
    '{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343123,"s":"BTCUSDT","t":3735683259,"p":"61837.63000000","q":"0.02000000","T":1723161255342999,"m":true,"M":true}}';
  const event = parsed(trade, 'spot', AT).event;
  assert.equal(event.type, 'trade');
  if (event.type !== 'trade') return;
  const r = parseFrame(trade, 'spot', AT, 'MICROSECOND');
  assert.ok(r.ok === true && r.event.type === 'trade');
  if (r.ok !== true || r.event.type !== 'trade') return;
  assert.equal(r.event.tradeTime, 1723161255342);
  assert.equal(r.event.tradeTimeMicros, 1723161255342999);
  assert.equal(r.event.eventTime, 1723161255343);
  assert.equal(r.event.eventTimeMicros, 1723161255343123);
  // Read as milliseconds (the default), the same frame says year 56574: validate.ts dead-letters it.
  assert.equal(event.tradeTime, 1723161255342999);

  const agg = parseFrame(
    '{"stream":"btcusdt@aggTrade","data":{"e":"aggTrade","E":1723161255343123,"s":"BTCUSDT","a":1,"p":"61837.63000000","q":"0.02000000","f":3735683259,"l":3735683259,"T":1723161255342001,"m":true,"M":true}}',
    'spot',
    AT,
    'MICROSECOND',
  );
  assert.ok(agg.ok === true && agg.event.type === 'aggTrade' && agg.event.tradeTime === 1723161255342 && agg.event.tradeTimeMicros === 1723161255342001);
  const depth = parseFrame(
    '{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208500,"s":"BTCUSDT","U":50093239189,"u":50093239202,"b":[],"a":[]}}',
    'spot',
    AT,
    'MICROSECOND',
  );
  assert.ok(depth.ok === true && depth.event.eventTime === 1723161255208 && depth.event.eventTimeMicros === 1723161255208500);
  const kline = parseFrame(
    '{"stream":"btcusdt@kline_1m","data":{"e":"kline","E":1723161256322000,"s":"BTCUSDT","k":{"t":1723161240000000,"T":1723161299999999,"s":"BTCUSDT","i":"1m","f":1,"L":2,"o":"1.0","c":"1.0","h":"1.0","l":"1.0","v":"1.0","n":2,"x":false,"q":"1.0","V":"1.0","Q":"1.0","B":"0"}}}',
    'spot',
    AT,
    'MICROSECOND',
  );
  assert.ok(kline.ok === true && kline.event.type === 'kline');
  if (kline.ok !== true || kline.event.type !== 'kline') return;
  assert.deepEqual([kline.event.openTime, kline.event.closeTime, kline.event.eventTime], [1723161240000, 1723161299999, 1723161256322]);
  // Spot bookTicker has no time at all: nothing changes.
  const book = parseFrame('{"stream":"btcusdt@bookTicker","data":{"u":1,"s":"BTCUSDT","b":"1.0","B":"1.0","a":"2.0","A":"1.0"}}', 'spot', AT, 'MICROSECOND');
  assert.ok(book.ok === true && book.event.eventTime === Math.floor(AT / 1000) && book.event.eventTimeMicros === undefined);
});

test('kind 10 (absurd digit counts): prices and quantities beyond 20 integer or 18 fraction digits are too_many_digits', () => {
  const trade = (p: string, q: string) =>
    `{"stream":"btcusdt@trade","data":{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":3735683259,"p":"${p}","q":"${q}","T":1723161255342,"m":true,"M":true}}`;
  assert.equal(parsed(trade('12345678901234567890.123456789012345678', '0.02')).ok, true);
  const long = rejected(trade('123456789012345678901.5', '0.02'));
  assert.equal(long.reason, 'too_many_digits');
  assert.match(long.detail, /"p" has 21 integer digits/);
  assert.equal(rejected(trade('61837.63', `0.${'0'.repeat(18)}1`)).reason, 'too_many_digits');
  assert.equal(rejected(trade('9'.repeat(100_000), '1')).reason, 'too_many_digits');
  const depth = rejected(
    `{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1,"s":"BTCUSDT","U":1,"u":2,"b":[["1.0","0.${'1'.repeat(19)}"]],"a":[]}}`,
  );
  assert.equal(depth.reason, 'too_many_digits');
  assert.match(depth.detail, /"b\[0\]" quantity has 19 fraction digits/);
  // Integers beyond 2^53 (ids, times) were already invalid fields.
  assert.equal(rejected(trade('1', '1').replace('"t":3735683259', '"t":12345678901234567890')).reason, 'invalid_field');
});

test('kind 9 (replay robustness): REST depth snapshot lines of spot and USD-M recordings are recognised', async (t) => {
  for (const [dir, market] of [
    ['binance-spot-ws', 'spot'],
    ['binance-usdm-ws', 'usdm'],
  ] as const) {
    const path = sharedData(t, dir, 'btcusdt_20240808.gz');
    if (!path) return;
    const line = lineOf(await recordedFrames(path), '{"lastUpdateId":');
    const r = parseFrame(line.raw, market, receivedMicros(line));
    assert.equal(r.ok, 'control');
    if (r.ok !== 'control' || r.control.kind !== 'depthSnapshot') return assert.fail(JSON.stringify(r).slice(0, 200));
    // The body is the REST answer, mapped by the REST mapper (the frame handler attributes the symbol).
    assert.deepEqual(r.control.body, JSON.parse(line.raw));
  }
});

test("the payload is Binance's own text of data, and only when the frame's layout makes the cut certain", async (t) => {
  const path = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (!path) return;
  let cut = 0;
  for (const f of await recordedFrames(path)) {
    const r = parseFrame(f.raw, 'usdm', receivedMicros(f));
    if (r.ok !== true) continue;
    assert.equal(r.payload, f.raw.slice(f.raw.indexOf('"data":') + 7, -1), f.raw);
    assert.deepEqual(JSON.parse(r.payload!), (JSON.parse(f.raw) as { data: unknown }).data);
    cut++;
  }
  assert.ok(cut > 1000, `${cut} payloads cut`);

  const data = '{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":1,"p":"1.0","q":"2.0","T":1723161255342,"m":true,"M":true}';
  // Parsed the same way, but the text of `data` is not the bytes between the prefix and the last brace.
  const unsure = [
    `{"stream":"btcusdt@trade","data":${data},"x":{"y":1}}`,
    `{"stream":"btcusdt@trade","data":{"e":"trade"},"data":${data}}`,
    `{"data":${data},"stream":"btcusdt@trade"}`,
    `{"stream": "btcusdt@trade", "data": ${data}}`,
    `{"stream":"btcusdt@trade","data":${data}}\n`,
    `{"stream":"btcusdt\\u0040trade","data":${data}}`,
  ];
  for (const raw of unsure) assert.equal(parsed(raw, 'spot', 1723161255343000).payload, null, raw);
  // Braces, brackets and escaped quotes inside strings do not end the payload.
  const tricky = '{"e":"trade","E":1723161255343,"s":"BTCUSDT","t":1,"p":"1.0","q":"2.0","T":1723161255342,"m":true,"M":true,"z":"}]\\"{"}';
  assert.equal(parsed(`{"stream":"btcusdt@trade","data":${tricky}}`, 'spot', 1723161255343000).payload, tricky);
});
