import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema } from '../../../src/config/schema.js';
import { SPOT_WS_URL, USDM_WS_URL, streamUrl, subscribedStreams, usdmPingTimeout, wsBaseUrlFor } from '../../../src/sources/binance/streams.js';

test('symbols × streams become lower-case wire names split per connection', () => {
  const config = configSchema.parse({
    source: { symbols: ['btcusdt', 'ETHUSDT', 'BTCUSDT'], streams: ['trade', 'depth', 'kline_1m'], maxStreamsPerConnection: 4 },
  }).source;
  assert.deepEqual(subscribedStreams(config), [
    ['btcusdt@trade', 'btcusdt@depth@100ms', 'btcusdt@kline_1m', 'ethusdt@trade'],
    ['ethusdt@depth@100ms', 'ethusdt@kline_1m'],
  ]);
});

test('USD-M: at most 200 streams per connection, fstream by default, a ping timeout above its 3-minute ping', () => {
  const symbols = Array.from({ length: 101 }, (_, i) => `SYM${i}USDT`);
  const usdm = configSchema.parse({ source: { market: 'usdm', symbols, streams: ['trade', 'depth'] } }).source;
  assert.deepEqual(subscribedStreams(usdm).map((g) => g.length), [200, 2]);
  assert.deepEqual(subscribedStreams({ ...usdm, market: 'spot' }).map((g) => g.length), [202]);
  assert.equal(wsBaseUrlFor('usdm', SPOT_WS_URL), USDM_WS_URL);
  assert.equal(wsBaseUrlFor('usdm', 'ws://127.0.0.1:9000'), 'ws://127.0.0.1:9000');
  assert.equal(wsBaseUrlFor('spot', SPOT_WS_URL), SPOT_WS_URL);
  assert.ok(usdmPingTimeout(60_000) > 180_000);
});

test('combined-stream URL', () => {
  assert.equal(streamUrl('ws://h:1/', ['a@trade', 'b@trade']), 'ws://h:1/stream?streams=a@trade/b@trade');
});
