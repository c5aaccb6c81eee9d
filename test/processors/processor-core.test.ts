import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeRecord, SCHEMA_HEADER, SCHEMA_VERSION, TYPE_HEADER } from '../../src/bus/kafka/codec.js';
import { type CoreInput, ProcessorCore, type Upsert } from '../../src/processors/processor-core.js';
import { processorOptions, TableImage, trade } from './support.js';

const MIN = 60_000;
const at = (offset: number, event: CoreInput['event'], source = 'trades/0'): CoreInput => ({ source, offset: BigInt(offset), event });
const candles = (upserts: readonly Upsert[]) => upserts.flatMap((u) => (u.table === 'candles' ? [u.row] : []));

function core(overrides: Parameters<typeof processorOptions>[0] = {}) {
  return new ProcessorCore(processorOptions({ candleIntervals: ['1m'], ...overrides }));
}

test('a window is final once the watermark (max event time − lateness) passes its end', () => {
  const c = core();
  assert.deepEqual(candles(c.ingest([at(0, trade(1, 1_000, '10', '1'))]).upserts), []);
  // 69 999 − 10 000 < 60 000: still open, and a trade at 59 000 (behind max time, not behind the watermark) counts.
  assert.deepEqual(candles(c.ingest([at(1, trade(2, 69_999, '11', '1')), at(2, trade(3, 59_000, '12', '1'))]).upserts), []);
  const closed = candles(c.ingest([at(3, trade(4, 70_000, '13', '1'))]).upserts);
  assert.equal(closed.length, 1);
  assert.deepEqual([closed[0]?.windowStart, closed[0]?.tradeCount, closed[0]?.close, closed[0]?.isFinal], [0, 2, '12', true]);
  assert.equal(closed[0]?.isComplete, false, 'the first window seen may have started before the input');
});

test('late events correct the stored window by default and are counted', () => {
  const c = core();
  c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, trade(2, 75_000, '11', '1'))]);
  const late = c.ingest([at(2, trade(3, 2_000, '9', '2'))]);
  assert.deepEqual(late.late, [{ exchange: 'binance', market: 'spot', symbol: 'BTCUSDT' }]);
  const [corrected] = candles(late.upserts);
  assert.deepEqual(
    [corrected?.windowStart, corrected?.volume, corrected?.low, corrected?.close, corrected?.tradeCount, corrected?.isFinal],
    [0, '3', '9', '9', 2, true],
  );
  const metrics = late.upserts.find((u) => u.table === 'trade_metrics');
  assert.equal(metrics?.table === 'trade_metrics' && metrics.row.volume, '3');
  assert.equal(
    late.upserts.some((u) => u.table === 'late_events'),
    false,
  );
  // Delivered again (redelivery after a failed write, or a replay): no effect.
  const again = c.ingest([at(2, trade(3, 2_000, '9', '2'))]);
  assert.deepEqual(again, { upserts: [], late: [], rejected: [] });
});

test('with lateEvents=table, late events go to late_events and the window stays as it was', () => {
  const c = core({ lateEvents: 'table' });
  const image = new TableImage();
  image.apply(c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, trade(2, 75_000, '11', '1'))]).upserts);
  const late = c.ingest([at(2, trade(3, 2_000, '9', '2'))]);
  assert.deepEqual(late.late, [{ exchange: 'binance', market: 'spot', symbol: 'BTCUSDT' }]);
  image.apply(late.upserts);
  const rows = image.of('late_events');
  assert.deepEqual(rows.map((r) => [r.target, r.reason, r.offset, r.watermark, r.eventTime]).sort(), [
    ['candles:1m', 'late', 2n, 65_000, 2_000],
    ['trade_metrics', 'late', 2n, 65_000, 2_000],
  ]);
  assert.equal(image.of('candles').find((r) => r.windowStart === 0)?.volume, '1');
});

test('events older than the late retention are kept in late_events, never dropped', () => {
  const c = core({ lateRetentionMs: 2 * MIN, smaLengths: [], emaLengths: [], volumeSpikeLookback: 1 });
  const inputs = [0, 1, 2, 3, 4, 5].map((m) => at(m, trade(m + 1, m * MIN + 1, '10', '1')));
  c.ingest(inputs);
  const late = c.ingest([at(6, trade(100, 1_000, '10', '5'))]);
  const rows = late.upserts.flatMap((u) => (u.table === 'late_events' ? [u.row] : []));
  assert.deepEqual(rows.map((r) => [r.target, r.reason]).sort(), [
    ['candles:1m', 'beyond_retention'],
    ['trade_metrics', 'beyond_retention'],
  ]);
  assert.deepEqual(late.late, [{ exchange: 'binance', market: 'spot', symbol: 'BTCUSDT' }]);
});

test('watermarks are per partition: a busy partition does not make another one late', () => {
  const c = core();
  c.ingest([at(0, trade(1, 1_000, '10', '1', true, 'AAA'), 'trades/0')]);
  const other = c.ingest([at(0, trade(1, 10 * MIN, '10', '1', true, 'BBB'), 'trades/1')]);
  assert.deepEqual(candles(other.upserts), []);
  const own = c.ingest([at(1, trade(2, 30_000, '11', '1', true, 'AAA'), 'trades/0')]);
  assert.deepEqual(own.late, []);
  assert.deepEqual(candles(own.upserts), []);
});

test('offsets are committable only below the oldest event still in an open window', () => {
  const c = core({ spreadWindowMs: MIN });
  c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, trade(2, 2_000, '10', '1'))]);
  assert.equal(c.committable('trades/0'), undefined);
  c.ingest([at(2, trade(3, 61_000, '10', '1')), at(3, trade(4, 71_000, '10', '1'))]);
  assert.equal(c.committable('trades/0'), 1n, 'minute 0 is final; minute 1 starts at offset 2');
  c.finish();
  assert.equal(c.committable('trades/0'), 3n);
  assert.equal(c.committable('bookTicker/0'), undefined);
});

test('partials: open windows changed since the last trigger, not final; finish closes them as not complete', () => {
  const c = core();
  c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, trade(2, 61_000, '12', '1')), at(2, trade(3, 121_000, '13', '1'))]);
  // Watermark 111 000: minute 0 is final, minutes 1 and 2 are open.
  assert.deepEqual(
    candles(c.partials()).map((r) => [r.windowStart, r.isFinal]),
    [
      [60_000, false],
      [120_000, false],
    ],
  );
  assert.deepEqual(candles(c.partials()), []);
  const closed = candles(c.ingest([at(3, trade(4, 130_000, '14', '1'))]).upserts);
  // Minute 1 closed by the watermark after an observed minute 0: complete.
  assert.deepEqual(
    closed.map((r) => [r.windowStart, r.isFinal, r.isComplete]),
    [[60_000, true, true]],
  );
  assert.deepEqual(
    candles(c.partials()).map((r) => [r.windowStart, r.close]),
    [[120_000, '14']],
  );
  const done = candles(c.finish());
  assert.deepEqual(
    done.map((r) => [r.windowStart, r.isFinal, r.isComplete]),
    [[120_000, true, false]],
  );
});

test('only the configured trade stream counts, so trade and aggTrade never double count', () => {
  const c = core();
  const agg = { ...trade(1, 1_000, '10', '1'), type: 'aggTrade' as const, aggTradeId: 7, firstTradeId: 1, lastTradeId: 1 };
  c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, agg)]);
  const [row] = candles(c.finish());
  assert.equal(row?.tradeCount, 1);
});

test('a hole in the trade ids keeps the windows around it from being complete', () => {
  const c = core();
  const image = new TableImage();
  image.apply(
    c.ingest([
      at(0, trade(1, 1_000, '10', '1')),
      at(1, trade(2, 61_000, '10', '1')),
      at(2, trade(3, 121_000, '10', '1')),
      at(3, trade(4, 135_000, '10', '1')), // minute 1 closes complete: ids 1 and 3 around its 2 were seen
      at(4, trade(7, 185_000, '10', '1')), // ids 5 and 6 were never seen: somewhere in 135 000..185 000
      at(5, trade(8, 250_000, '10', '1')),
    ]).upserts,
  );
  image.apply(c.finish());
  const complete = (rows: ReturnType<TableImage['of']>) => rows.map((r) => 'isComplete' in r && [r.windowStart / MIN, r.isComplete]);
  assert.deepEqual(complete(image.of('candles').sort((a, b) => a.windowStart - b.windowStart)), [
    [0, false],
    [1, true],
    [2, false],
    [3, false],
    [4, false],
  ]);
});

test('a window closed before the trade after its last one arrived becomes complete when it does', () => {
  const other = core();
  other.ingest([at(0, trade(1, 1_000, '10', '1', true, 'AAA')), at(1, trade(2, 61_000, '10', '1', true, 'AAA'))]);
  // Another symbol of the partition moves the watermark: AAA's minute 1 closes before AAA's id 3 exists.
  const closed = candles(other.ingest([at(2, trade(1, 130_000, '10', '1', true, 'BBB'))]).upserts);
  assert.deepEqual(
    closed.filter((r) => r.symbol === 'AAA').map((r) => [r.windowStart, r.isComplete]),
    [
      [0, false],
      [60_000, false],
    ],
  );
  const settled = candles(other.ingest([at(3, trade(3, 131_000, '10', '1', true, 'AAA'))]).upserts);
  assert.deepEqual(
    settled.map((r) => [r.symbol, r.windowStart, r.isFinal, r.isComplete]),
    [['AAA', 60_000, true, true]],
  );
});

test('an event with an unusable decimal is rejected, the rest of the batch goes on', () => {
  const c = core();
  const result = c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, trade(2, 2_000, '1e5', '1')), at(2, trade(3, 3_000, '11', '1'))]);
  assert.deepEqual(
    result.rejected.map((r) => r.offset),
    [1n],
  );
  const [row] = candles(c.finish());
  assert.deepEqual([row?.tradeCount, row?.close], [2, '11']);
});

test('a schema-1 Kafka record without its decimals (a foreign producer) is rejected, not thrown: the processor role kept no consumer', () => {
  // The codec only shape-checks schema 1 (type and instrument), so this reaches the core as it was produced.
  const headers = new Map([
    [Buffer.from(TYPE_HEADER), Buffer.from('trade')],
    [Buffer.from(SCHEMA_HEADER), Buffer.from(SCHEMA_VERSION)],
  ]);
  const bare = decodeRecord(
    Buffer.from('binance:spot:BTCUSDT'),
    Buffer.from('{"type":"trade","exchange":"binance","market":"spot","symbol":"BTCUSDT","tradeId":2,"tradeTime":2000}'),
    headers,
  );
  const numeric = decodeRecord(
    Buffer.from('binance:spot:BTCUSDT'),
    Buffer.from(
      '{"type":"bookTicker","exchange":"binance","market":"spot","symbol":"BTCUSDT","updateId":7,"bidPrice":10,"bidQty":"1","askPrice":"11","askQty":"1","eventTime":2500}',
    ),
    new Map([[Buffer.from(TYPE_HEADER), Buffer.from('bookTicker')]]),
  );
  const c = core();
  const result = c.ingest([
    at(0, trade(1, 1_000, '10', '1')),
    at(1, bare as CoreInput['event']),
    at(2, numeric as CoreInput['event'], 'book_ticker/0'),
    at(3, trade(3, 3_000, '11', '1')),
  ]);
  assert.deepEqual(
    result.rejected.map((r) => [r.offset, r.reason]),
    [
      [1n, 'not a decimal number: undefined'],
      [2n, 'not a decimal number: 10'],
    ],
  );
  const [row] = candles(c.finish());
  assert.deepEqual([row?.tradeCount, row?.close], [2, '11']);
});

/** An aggTrade as the source emits it: `a` with the trade ids `f`..`l` it stands for. */
const agg = (a: number, f: number, l: number, time: number, price = '10', symbol = 'BTCUSDT'): CoreInput['event'] => ({
  type: 'aggTrade',
  exchange: 'binance',
  market: 'spot',
  symbol,
  eventTime: time,
  ingestionTimestamp: time * 1000,
  aggTradeId: a,
  price,
  quantity: '1',
  firstTradeId: f,
  lastTradeId: l,
  tradeTime: time,
  buyerIsMaker: false,
});

test('reordering is not loss: aggTrades of one ms out of id order leave their minute complete, with every trade counted', () => {
  const c = core({ tradeStream: 'aggTrade' });
  const image = new TableImage();
  image.apply(
    c.ingest([
      at(0, agg(10, 100, 101, 59_000, '10')),
      at(1, agg(12, 104, 104, 60_500, '12')), // minute 1 opens at trade 104: 102..103 not seen yet
      at(2, agg(11, 102, 103, 60_500, '11')), // same ms, lower ids: the hole is filled
      at(3, agg(13, 105, 105, 121_000, '13')),
      at(4, agg(14, 106, 106, 190_000, '14')), // watermark 180 000: minutes 1 and 2 close
    ]).upserts,
  );
  const minute1 = image.of('candles').find((r) => r.windowStart === MIN);
  assert.deepEqual(
    [minute1?.isFinal, minute1?.isComplete, minute1?.tradeCount, minute1?.open, minute1?.close, minute1?.firstTradeId, minute1?.lastTradeId],
    [true, true, 3, '11', '12', 102, 104],
  );
  assert.equal(image.of('candles').find((r) => r.windowStart === 2 * MIN)?.isComplete, true);
});

test('reordering is not loss: ids that arrive after their minute closed make it complete then (late correction)', () => {
  const c = core({ tradeStream: 'aggTrade' });
  const image = new TableImage();
  image.apply(
    c.ingest([
      at(0, agg(10, 100, 100, 59_000)),
      at(1, agg(12, 102, 102, 61_000)),
      at(2, agg(13, 103, 103, 131_000)), // minute 1 closes while trade 101 is missing
    ]).upserts,
  );
  const closed = () => image.of('candles').find((r) => r.windowStart === MIN);
  assert.deepEqual([closed()?.isFinal, closed()?.isComplete, closed()?.tradeCount], [true, false, 1]);
  image.apply(c.ingest([at(3, agg(11, 101, 101, 60_000))]).upserts);
  assert.deepEqual([closed()?.isFinal, closed()?.isComplete, closed()?.tradeCount, closed()?.firstTradeId], [true, true, 2, 101]);
});

test('reordering is not loss: the last fully covered minute of a finished input is complete when the next id follows it', () => {
  const c = core();
  const image = new TableImage();
  image.apply(c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, trade(2, 61_000, '10', '1')), at(2, trade(3, 120_500, '10', '1'))]).upserts);
  // Watermark 110 500: minute 1 is still open when the input ends.
  image.apply(c.finish());
  const complete = image
    .of('candles')
    .sort((a, b) => a.windowStart - b.windowStart)
    .map((r) => [r.windowStart / MIN, r.isFinal, r.isComplete]);
  assert.deepEqual(complete, [
    [0, true, false],
    [1, true, true],
    [2, true, false],
  ]);
});

test('kind 11 (USD-M non-market trades): INSURANCE_FUND, ADL and NA trades stay out of candles but keep their minute complete', () => {
  const c = core();
  const image = new TableImage();
  const typed = (id: number, time: number, price: string, qty: string, tradeType: string) => ({
    ...trade(id, time, price, qty),
    market: 'usdm' as const,
    tradeType,
  });
  image.apply(
    c.ingest([
      at(0, typed(1, 1_000, '10', '1', 'MARKET')),
      at(1, typed(2, 61_000, '10', '1', 'MARKET')),
      at(2, typed(3, 62_000, '99', '5', 'INSURANCE_FUND')),
      at(3, typed(4, 63_000, '1', '7', 'ADL')),
      at(4, typed(5, 64_000, '11', '2', 'MARKET')),
      at(5, typed(6, 65_000, '50', '3', 'NA')),
      at(6, typed(7, 121_000, '12', '1', 'MARKET')),
      at(7, typed(8, 190_000, '12', '1', 'MARKET')),
    ]).upserts,
  );
  const minute = image.of('candles').find((r) => r.windowStart === MIN);
  assert.ok(minute && 'isComplete' in minute);
  // Only the two market trades: open 10, high 11, low 10, close 11, volume 3, 2 trades — and no hole for ids 3, 4, 6.
  assert.deepEqual(
    [minute.open, minute.high, minute.low, minute.close, minute.volume, minute.tradeCount, minute.isFinal, minute.isComplete],
    ['10', '11', '10', '11', '3', 2, true, true],
  );
  assert.equal(image.of('whale_trades').length, 0);
});

test('the same symbol on two markets is two instruments: its own windows, trade-id sequence and whale rows', () => {
  const c = core({ whaleNotional: 100 });
  const perp = (t: ReturnType<typeof trade>) => ({ ...t, market: 'usdm' });
  // Interleaved on one partition; the ids overlap, as spot and USD-M ids do (separate sequences).
  const out = c.ingest([
    at(0, trade(1, 1_000, '10', '1')),
    at(1, perp(trade(1, 2_000, '20.0', '10'))),
    at(2, trade(2, 3_000, '11', '2')),
    at(3, perp(trade(5, 4_000, '21.0', '1'))),
    at(4, trade(3, 75_000, '12', '1')),
    at(5, perp(trade(6, 76_000, '22.0', '1'))),
  ]).upserts;
  const first = candles(out)
    .filter((r) => r.windowStart === 0)
    .map((r) => [r.market, r.open, r.close, r.volume, r.tradeCount, r.firstTradeId, r.lastTradeId]);
  assert.deepEqual(first.sort(), [
    ['spot', '10', '11', '3', 2, 1, 2],
    ['usdm', '20.0', '21.0', '11', 2, 1, 5],
  ]);
  // Whale thresholds are per symbol, but the row is the instrument's: 20.0 × 10 on USD-M only.
  const whales = out.flatMap((u) => (u.table === 'whale_trades' ? [[u.row.market, u.row.tradeId]] : []));
  assert.deepEqual(whales, [['usdm', 1]]);
});

test('a healed trade (REST) whose id already arrived live is not counted twice; a healed trade with a new id corrects its window', () => {
  const c = core();
  c.ingest([at(0, trade(1, 1_000, '10', '1')), at(1, trade(3, 2_000, '11', '1')), at(2, trade(4, 75_000, '12', '1'))]);
  // Trade 3 came live; its healed copy (a late WebSocket frame raced the heal) changes nothing.
  assert.deepEqual(c.ingest([at(3, { ...trade(3, 2_000, '11', '1'), healed: true })]), { upserts: [], late: [], rejected: [] });
  // Trade 2 never came live: healed, it joins its closed window, which is now complete around it.
  const [corrected] = candles(c.ingest([at(4, { ...trade(2, 1_500, '9', '2'), healed: true })]).upserts);
  assert.deepEqual([corrected?.windowStart, corrected?.tradeCount, corrected?.volume, corrected?.low], [0, 3, '4', '9']);
});
