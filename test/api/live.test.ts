import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoalescingBuffer } from '../../src/api/live-buffer.js';
import type { LiveCandle, LiveMessage } from '../../src/api/contract.js';
import { createLiveFeed } from '../../src/api/live.js';
import { btcTradeGap } from '../support/events.js';
import { aggTrade, bookTicker, spot, trade } from './helpers.js';

const T0 = Date.parse('2024-08-09T00:00:00Z');

const feedOptions = { intervals: ['1m', '5m'], whaleNotional: 100_000, whaleNotionalBySymbol: { ETHUSDT: 50_000 } };
const ofType = <T extends LiveMessage['type']>(ms: LiveMessage[], type: T) => ms.filter((m) => m.type === type) as Extract<LiveMessage, { type: T }>[];

test('messages reach only the subscribers of their symbol and interval, with whale flags and forming candles', () => {
  const live = createLiveFeed(feedOptions);
  const btc = live.subscribe({ instruments: [spot('BTCUSDT')] });
  const eth1m = live.subscribe({ instruments: [spot('ETHUSDT')], intervals: ['1m'] });
  live.publish(trade('BTCUSDT', 1, '60000.00', '1.5', T0 + 1_000));
  live.publish(trade('BTCUSDT', 2, '60010.00', '2', T0 + 2_000));
  live.publish(trade('ETHUSDT', 7, '2500.00', '20', T0 + 3_000));

  const b = btc.take();
  assert.deepEqual(
    ofType(b, 'trade').map((t) => [t.id, t.whale]),
    [
      [1, false],
      [2, true],
    ],
  );
  const candles = ofType(b, 'candle');
  assert.deepEqual(
    candles.map((c) => [c.interval, c.open, c.high, c.close, c.volume, c.tradeCount]),
    [
      ['1m', '60000.00', '60010.00', '60010.00', '3.5', 2],
      ['5m', '60000.00', '60010.00', '60010.00', '3.5', 2],
    ],
  );
  const e = eth1m.take();
  // 2500 × 20 = 50000 reaches the ETHUSDT override.
  assert.deepEqual(
    ofType(e, 'trade').map((t) => [t.symbol, t.whale]),
    [['ETHUSDT', true]],
  );
  assert.deepEqual(
    ofType(e, 'candle').map((c) => c.interval),
    ['1m'],
  );
  assert.equal(btc.pending + eth1m.pending, 0);
});

test("the tape and the candle follow the processor's trade stream: with `trade`, aggTrades are never counted", () => {
  const live = createLiveFeed(feedOptions);
  const sub = live.subscribe({ instruments: [spot('BTCUSDT')], intervals: ['1m'] });
  live.publish(aggTrade('BTCUSDT', 50, '1', '1', T0));
  live.publish(trade('BTCUSDT', 500, '2', '1', T0 + 1));
  live.publish(aggTrade('BTCUSDT', 51, '3', '1', T0 + 2));
  const ms = sub.take();
  assert.deepEqual(
    ofType(ms, 'trade').map((t) => [t.kind, t.id]),
    [['trade', 500]],
  );
  const last = ofType(ms, 'candle').at(-1) as LiveCandle;
  assert.deepEqual([last.open, last.volume, last.tradeCount, last.partial], ['2', '1', 1, true]);
});

test('with tradeStream aggTrade, the tape and the candle count aggTrades (each the trades it stands for)', () => {
  const live = createLiveFeed({ ...feedOptions, tradeStream: 'aggTrade' });
  const sub = live.subscribe({ instruments: [spot('BTCUSDT')], intervals: ['1m'] });
  live.publish(trade('BTCUSDT', 500, '2', '1', T0 + 1));
  live.publish({ ...aggTrade('BTCUSDT', 51, '3', '1', T0 + 2), firstTradeId: 501, lastTradeId: 503 });
  const ms = sub.take();
  assert.deepEqual(
    ofType(ms, 'trade').map((t) => [t.kind, t.id]),
    [['aggTrade', 51]],
  );
  const last = ofType(ms, 'candle').at(-1) as LiveCandle;
  assert.deepEqual([last.open, last.volume, last.tradeCount], ['3', '1', 3]);
});

test('a new subscriber starts with the latest book ticker, candles, metrics; anomalies and gaps go live only', () => {
  const live = createLiveFeed(feedOptions);
  live.publish(bookTicker('BTCUSDT', 1, '100.0', '100.2'));
  live.publish(bookTicker('BTCUSDT', 2, '100.1', '100.3'));
  // Published while nobody listens: no messages are built, but the forming candles move.
  live.publish(trade('BTCUSDT', 1, '100.2', '1', T0));
  live.publish(trade('BTCUSDT', 2, '100.4', '0.5', T0 + 1));
  live.publishCandle({
    ...spot('BTCUSDT'),
    interval: '1m',
    time: T0,
    open: '100',
    high: '101',
    low: '99',
    close: '100.2',
    volume: '7',
    tradeCount: 3,
    final: false,
    vwap: '100.1',
    averages: { sma20: '100.05' },
  });
  live.publishMetric({ ...spot('BTCUSDT'), kind: 'spread', time: T0, values: { avgSpreadBps: 1.2 } });
  live.publishAnomaly({ ...spot('BTCUSDT'), kind: 'priceMove', time: T0, message: 'moved 2.5% in 1m' });
  live.publish(btcTradeGap(2, 4, T0));

  const late = live.subscribe({ instruments: [spot('BTCUSDT')] });
  const ms = late.take();
  assert.deepEqual(
    ofType(ms, 'bookTicker').map((b) => b.bidPrice),
    ['100.1'],
  );
  assert.deepEqual(
    ofType(ms, 'candle')
      .map((c) => `${c.source}:${c.interval}`)
      .sort(),
    ['live:1m', 'live:5m', 'processor:1m'],
  );
  assert.deepEqual(
    ofType(ms, 'candle')
      .filter((c) => c.source === 'live')
      .map((c) => [c.open, c.high, c.close, c.volume, c.tradeCount]),
    [
      ['100.2', '100.4', '100.4', '1.5', 2],
      ['100.2', '100.4', '100.4', '1.5', 2],
    ],
  );
  assert.deepEqual(
    ofType(ms, 'metric').map((m) => m.values),
    [{ avgSpreadBps: 1.2 }],
  );
  assert.equal(ofType(ms, 'trade').length + ofType(ms, 'anomaly').length + ofType(ms, 'gap').length, 0);

  live.publishAnomaly({ ...spot('BTCUSDT'), kind: 'volumeSpike', time: T0 + 1, message: 'volume 4.1× the 20-window mean' });
  assert.deepEqual(
    ofType(late.take(), 'anomaly').map((a) => a.kind),
    ['volumeSpike'],
  );
});

test('a subscriber that never reads holds a bounded buffer: trades capped with a dropped count, state coalesced', () => {
  const live = createLiveFeed({ ...feedOptions, limits: { maxTrades: 100, maxEvents: 10 } });
  const slow = live.subscribe({ instruments: [spot('BTCUSDT')] });
  const published = 50_000;
  for (let i = 1; i <= published; i++) {
    live.publish(trade('BTCUSDT', i, `${60_000 + (i % 100)}.00`, '0.001', T0 + i * 10));
    if (i % 10 === 0) live.publish(bookTicker('BTCUSDT', i, '1', '2', T0));
    if (i % 1000 === 0) live.publishAnomaly({ ...spot('BTCUSDT'), kind: 'volatility', time: T0 + i * 10, message: 'x' });
  }
  // 100 trades + 10 events + 1 book ticker + (1m, 5m) × (forming, previous window).
  assert.ok(slow.pending <= 100 + 10 + 1 + 4, `pending ${slow.pending}`);
  assert.equal(live.stats().buffered, slow.pending);
  const ms = slow.take();
  const [dropped] = ofType(ms, 'dropped');
  const trades = ofType(ms, 'trade');
  assert.equal(trades.length, 100);
  assert.equal((dropped?.trades ?? 0) + trades.length, published, 'every trade is delivered or counted as dropped');
  assert.equal(dropped?.events, 40);
  assert.equal(trades.at(-1)?.id, published, 'the newest trades are kept');
  assert.deepEqual(
    ofType(ms, 'bookTicker').map((b) => b.time),
    [T0],
  );
  const oneMinute = ofType(ms, 'candle').filter((c) => c.interval === '1m');
  // The previous window's last version is kept so the client sees how it closed.
  assert.equal(oneMinute.length, 2);
  const [prev, current] = oneMinute as [LiveCandle, LiveCandle];
  assert.equal(current.time - prev.time, 60_000);
  assert.equal(current.tradeCount, published - Math.floor((current.time - T0) / 10) + 1);
  assert.equal(slow.take().length, 0);
});

test('CoalescingBuffer keeps the newest candle version per window and never goes back in time', () => {
  const buffer = new CoalescingBuffer({ maxTrades: 1, maxEvents: 1 });
  const candle = (time: number, close: string): LiveCandle => ({
    type: 'candle',
    ...spot('X'),
    interval: '1m',
    time,
    open: '1',
    high: '1',
    low: '1',
    close,
    volume: '1',
    tradeCount: 1,
    source: 'live',
    final: false,
    partial: false,
  });
  buffer.push(candle(60_000, 'a'));
  buffer.push(candle(0, 'stale'));
  buffer.push(candle(60_000, 'b'));
  assert.deepEqual(
    buffer.take().map((m) => (m as LiveCandle).close),
    ['b'],
  );
});

test('closing a subscription wakes its reader and stops delivery', async () => {
  const live = createLiveFeed(feedOptions);
  const sub = live.subscribe({ instruments: [spot('BTCUSDT')] });
  const waiting = sub.ready();
  sub.close();
  await waiting;
  live.publish(trade('BTCUSDT', 1, '1', '1', T0));
  assert.equal(sub.pending, 0);
  assert.equal(live.stats().subscribers, 0);
});

test('stats report per-stream rates and ingest latency quantiles of what was fed', () => {
  let now = T0;
  const live = createLiveFeed({ ...feedOptions, now: () => now });
  for (let i = 0; i < 100; i++) {
    now = T0 + i * 100; // 10 per second for 10 s
    live.publish(trade('BTCUSDT', i, '1', '1', now - (i % 10)));
  }
  now = T0 + 10_000;
  const stats = live.stats();
  assert.deepEqual(
    stats.streams.map((s) => [s.symbol, s.stream, s.messagesPerSecond]),
    [['BTCUSDT', 'trade', 10]],
  );
  // ingestion = trade time + 5 ms (see trade()).
  assert.equal(stats.ingestLatencyMs.p50, 5);
  assert.equal(stats.ingestLatencyMs.p99, 5);
});

test('the same symbol on two markets is two instruments: separate subscribers, tapes and forming candles', () => {
  const live = createLiveFeed(feedOptions);
  const spotSub = live.subscribe({ instruments: [spot('BTCUSDT')], intervals: ['1m'] });
  const perpSub = live.subscribe({ instruments: [spot('BTCUSDT', 'usdm')], intervals: ['1m'] });
  live.publish(trade('BTCUSDT', 1, '60000.00', '1', T0));
  live.publish({ ...trade('BTCUSDT', 1, '60010.0', '3', T0 + 1), market: 'usdm' });
  live.publish(trade('BTCUSDT', 2, '60001.00', '1', T0 + 2));
  const s = spotSub.take();
  const p = perpSub.take();
  assert.deepEqual(
    ofType(s, 'trade').map((t) => [t.market, t.id, t.price]),
    [
      ['spot', 1, '60000.00'],
      ['spot', 2, '60001.00'],
    ],
  );
  assert.deepEqual(
    ofType(p, 'trade').map((t) => [t.market, t.id, t.price]),
    [['usdm', 1, '60010.0']],
  );
  assert.deepEqual(
    ofType(s, 'candle')
      .map((c) => [c.open, c.close, c.volume, c.tradeCount])
      .at(-1),
    ['60000.00', '60001.00', '2', 2],
  );
  assert.deepEqual(
    ofType(p, 'candle').map((c) => [c.market, c.open, c.volume, c.tradeCount]),
    [['usdm', '60010.0', '3', 1]],
  );
});
