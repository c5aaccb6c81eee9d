import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../../src/config/schema.js';
import { SPOT_WS_URL, USDM_ROUTES, USDM_WS_URL, streamUrl, subscribedStreams, usdmRouteOf, wsBaseUrlFor } from '../../../src/sources/binance/streams.js';

test('symbols × streams become lower-case wire names split per connection', () => {
  const config = configSchema.parse({
    source: { symbols: ['btcusdt', 'ETHUSDT', 'BTCUSDT'], streams: ['trade', 'depth', 'kline_1m'], maxStreamsPerConnection: 4 },
  }).source;
  assert.deepEqual(subscribedStreams(config), [
    { route: '', streams: ['btcusdt@trade', 'btcusdt@depth@100ms', 'btcusdt@kline_1m', 'ethusdt@trade'] },
    { route: '', streams: ['ethusdt@depth@100ms', 'ethusdt@kline_1m'] },
  ]);
});

test('USD-M: at most 200 streams per connection, fstream by default', () => {
  const symbols = Array.from({ length: 101 }, (_, i) => `SYM${i}USDT`);
  const usdm = configSchema.parse({ source: { market: 'usdm', symbols, streams: ['trade', 'depth'] } }).source;
  assert.deepEqual(
    subscribedStreams(usdm).map((g) => g.streams.length),
    [200, 2],
  );
  assert.deepEqual(
    subscribedStreams({ ...usdm, market: 'spot' }).map((g) => g.streams.length),
    [202],
  );
  assert.equal(wsBaseUrlFor('usdm', SPOT_WS_URL), USDM_WS_URL);
  assert.equal(wsBaseUrlFor('usdm', 'ws://127.0.0.1:9000'), 'ws://127.0.0.1:9000');
  assert.equal(wsBaseUrlFor('spot', SPOT_WS_URL), SPOT_WS_URL);
});

test('combined-stream URL', () => {
  assert.equal(streamUrl('ws://h:1/', ['a@trade', 'b@trade']), 'ws://h:1/stream?streams=a@trade/b@trade');
});

test('issue 9 kind 1 (USD-M routed paths): streams grouped per route into separate connections, one URL each', () => {
  const usdm = configSchema.parse({
    source: { market: 'usdm', symbols: ['BTCUSDT', 'ETHUSDT'], streams: ['trade', 'aggTrade', 'bookTicker', 'depth', 'kline_1m'], maxStreamsPerConnection: 3 },
  }).source;
  const groups = subscribedStreams(usdm);
  const publicStreams = ['btcusdt@trade', 'btcusdt@bookTicker', 'btcusdt@depth@100ms', 'ethusdt@trade', 'ethusdt@bookTicker', 'ethusdt@depth@100ms'];
  assert.deepEqual(groups, [
    { route: 'public', streams: publicStreams.slice(0, 3) },
    { route: 'public', streams: publicStreams.slice(3) },
    { route: 'market', streams: ['btcusdt@aggTrade', 'btcusdt@kline_1m', 'ethusdt@aggTrade'] },
    { route: 'market', streams: ['ethusdt@kline_1m'] },
  ]);
  // Every stream lands on the route the one table names for its type, whatever the interval or speed.
  for (const g of groups) for (const s of g.streams) assert.equal(usdmRouteOf(s), g.route, s);
  assert.equal(usdmRouteOf('btcusdt@kline_1M'), USDM_ROUTES.kline);
  assert.equal(usdmRouteOf('btcusdt@depth@100ms'), 'public');
  assert.equal(usdmRouteOf('btcusdt@markPrice'), undefined);
  // The live default, a custom host (simulator, testnet, demo) and a base that already names a route.
  const g = groups[2]!;
  const base = wsBaseUrlFor('usdm', SPOT_WS_URL);
  assert.equal(streamUrl(base, g.streams, g.route), 'wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade/btcusdt@kline_1m/ethusdt@aggTrade');
  assert.equal(
    streamUrl('wss://fstream.binancefuture.com/', ['btcusdt@trade'], 'public'),
    'wss://fstream.binancefuture.com/public/stream?streams=btcusdt@trade',
  );
  assert.equal(streamUrl('ws://127.0.0.1:9000', ['btcusdt@aggTrade'], 'market'), 'ws://127.0.0.1:9000/market/stream?streams=btcusdt@aggTrade');
  assert.equal(
    streamUrl('wss://fstream.binance.com/public', ['btcusdt@aggTrade'], 'market'),
    'wss://fstream.binance.com/market/stream?streams=btcusdt@aggTrade',
  );
  // Spot keeps the one root, whatever the stream.
  const spot = subscribedStreams({ ...usdm, market: 'spot', maxStreamsPerConnection: 1024 });
  assert.deepEqual(
    spot.map((x) => x.route),
    [''],
  );
  assert.equal(streamUrl(SPOT_WS_URL, ['btcusdt@aggTrade']), 'wss://stream.binance.com:9443/stream?streams=btcusdt@aggTrade');
});
