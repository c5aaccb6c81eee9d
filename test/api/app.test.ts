import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiErrors } from '../../src/api/errors.js';
import { candleRow, insertProcessorRows, insertTrades, openTestDatabase, spot, spreadMetricsRow, testApp, tradeMetricsRow } from './helpers.js';

const T0 = Date.parse('2024-08-09T00:00:00Z');

test('HTTP API against a migrated embedded database', async (t) => {
  const db = await openTestDatabase(t);
  await insertTrades(db, [
    { symbol: 'BTCUSDT', id: 101, price: '61000.10', quantity: '0.00100000', time: T0 },
    { symbol: 'BTCUSDT', id: 102, price: '61001.00', quantity: '1.63934426', time: T0 + 1_000, buyerIsMaker: true },
    // 61002.50 × 2 = 122005 ≥ 100000 (the default whale notional)
    { symbol: 'BTCUSDT', id: 103, price: '61002.50', quantity: '2.00000000', time: T0 + 2_000 },
    { symbol: 'BTCUSDT', id: 900, price: '61002.50', quantity: '9', time: T0 + 2_000, kind: 'aggTrade' },
    { symbol: 'SOLUSDT', id: 1, price: '150.1', quantity: '3', time: T0 },
  ]);
  await db.query(
    `INSERT INTO gaps (exchange, market, symbol, stream, first_missing_id, last_missing_id, detected_at, reason)
     VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 104, 110, $1, 'reconnect')`,
    [new Date(T0 + 5_000).toISOString()],
  );
  const minute = (n: number) => T0 + n * 60_000;
  await insertProcessorRows(db, [
    ...[0, 1, 2].map((n) => ({ table: 'candles' as const, row: candleRow('BTCUSDT', '1m', minute(n), { close: `101.0${n}` }) })),
    { table: 'candles', row: candleRow('BTCUSDT', '1m', minute(3), { isFinal: false, isComplete: false, vwap: null }) },
    { table: 'candles', row: candleRow('BTCUSDT', '5m', minute(0), { windowEnd: minute(5) }) },
    { table: 'trade_metrics', row: tradeMetricsRow('BTCUSDT', minute(0)) },
    { table: 'trade_metrics', row: tradeMetricsRow('BTCUSDT', minute(1), { priceMove: true, volumeSpike: true, open: '100', close: '102.5' }) },
    { table: 'spread_metrics', row: spreadMetricsRow('BTCUSDT', minute(0)) },
    { table: 'spread_metrics', row: spreadMetricsRow('BTCUSDT', minute(2), { spreadWarning: true, avgSpreadBps: 14.5 }) },
    {
      table: 'whale_trades',
      row: {
        exchange: 'binance',
        market: 'spot',
        symbol: 'BTCUSDT',
        tradeId: 103,
        tradeTime: T0 + 2_000,
        price: '61002.50',
        quantity: '2.00000000',
        notional: '122005.0000000000',
        side: 'buy',
      },
    },
  ]);
  const { app } = testApp(t, db);

  await t.test('/api/candles returns the newest candles of the range oldest first, every kline field, VWAP and averages', async () => {
    const res = await app.inject('/api/candles?symbol=BTCUSDT&interval=1m&limit=3');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.interval, '1m');
    assert.deepEqual(
      body.candles.map((c: { time: number }) => c.time),
      [minute(1), minute(2), minute(3)],
    );
    assert.deepEqual(body.candles[0], {
      time: minute(1),
      closeTime: minute(2) - 1,
      open: '100.00',
      high: '101.50',
      low: '99.25',
      close: '101.01',
      volume: '12.50000000',
      quoteVolume: '1262.50000000',
      takerBuyVolume: '7.00000000',
      takerBuyQuoteVolume: '707.00000000',
      tradeCount: 42,
      vwap: '101.00000000',
      final: true,
      complete: true,
      averages: { sma20: null, ema12: '100.5' },
    });
    assert.deepEqual([body.candles[2].final, body.candles[2].vwap], [false, null]);
    const ranged = await app.inject(`/api/candles?symbol=BTCUSDT&from=${new Date(minute(1)).toISOString()}&to=${minute(3)}`);
    assert.deepEqual(
      ranged.json().candles.map((c: { time: number }) => c.time),
      [minute(1), minute(2)],
    );
    const fiveMinutes = await app.inject('/api/candles?symbol=BTCUSDT&interval=5m');
    assert.equal(fiveMinutes.json().candles.length, 1);
    // Binance's closeTime: open + interval − 1 ms (GET /api/v3/klines), for every interval.
    assert.equal(fiveMinutes.json().candles[0].closeTime, minute(5) - 1);
    assert.deepEqual((await app.inject('/api/candles?symbol=ETHUSDT')).json().candles, []);
  });

  await t.test('/api/metrics/trades and /api/metrics/spreads return metric windows oldest first', async () => {
    const trades = (await app.inject('/api/metrics/trades?symbol=BTCUSDT')).json().metrics;
    assert.deepEqual(
      trades.map((m: { time: number; buyVolume: string; priceMove: boolean }) => [m.time, m.buyVolume, m.priceMove]),
      [
        [minute(0), '3', false],
        [minute(1), '3', true],
      ],
    );
    const spreads = (await app.inject(`/api/metrics/spreads?symbol=BTCUSDT&from=${minute(1)}`)).json().metrics;
    assert.deepEqual(
      spreads.map((m: { time: number; avgSpreadBps: number; spreadWarning: boolean }) => [m.time, m.avgSpreadBps, m.spreadWarning]),
      [[minute(2), 14.5, true]],
    );
  });

  await t.test('/api/whales lists whale trades with exact notional', async () => {
    const res = await app.inject('/api/whales?symbol=BTCUSDT');
    assert.deepEqual(res.json().whales, [
      { symbol: 'BTCUSDT', id: 103, time: T0 + 2_000, price: '61002.50', quantity: '2.00000000', notional: '122005.0000000000', side: 'buy' },
    ]);
    assert.equal((await app.inject('/api/whales')).json().whales.length, 1);
  });

  await t.test('/api/anomalies turns flagged metric windows into entries, newest first, each stating its threshold', async () => {
    const res = await app.inject('/api/anomalies?symbol=BTCUSDT');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(
      res.json().anomalies.map((a: { kind: string; time: number; message: string; threshold: number }) => [a.kind, a.time, a.message, a.threshold]),
      [
        ['spreadWarning', minute(2), 'average spread 14.50 bps in 30s (threshold 10 bps)', 10],
        ['volumeSpike', minute(1), 'volume 5 in 1m, above 3 × the recent average', 3],
        ['priceMove', minute(1), 'price +2.50% in 1m (100 → 102.5; threshold ±2%)', 2],
      ],
    );
  });

  await t.test('/api/symbols lists configured symbols and symbols with data', async () => {
    const res = await app.inject('/api/symbols');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().intervals, ['1m', '5m', '15m', '1h']);
    assert.deepEqual(res.json().symbols, [
      { ...spot('BTCUSDT'), configured: true, hasData: true },
      { ...spot('ETHUSDT'), configured: true, hasData: false },
      { ...spot('SOLUSDT'), configured: false, hasData: true },
    ]);
    assert.deepEqual(res.json().defaultMarket, { exchange: 'binance', market: 'spot' });
  });

  await t.test('/api/trades returns the tape newest first, decimals as exact strings, whales flagged', async () => {
    const res = await app.inject('/api/trades?symbol=btcusdt&limit=2');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.symbol, 'BTCUSDT');
    assert.equal(body.whaleNotional, '100000');
    assert.deepEqual(body.trades, [
      { kind: 'trade', id: 103, price: '61002.50', quantity: '2.00000000', time: T0 + 2_000, buyerIsMaker: false, whale: true },
      { kind: 'trade', id: 102, price: '61001.00', quantity: '1.63934426', time: T0 + 1_000, buyerIsMaker: true, whale: true },
    ]);
    const small = (await app.inject('/api/trades?symbol=BTCUSDT')).json().trades.find((x: { id: number }) => x.id === 101);
    assert.equal(small.whale, false);
  });

  await t.test('a symbol configured but without data is known; others are 404', async () => {
    assert.deepEqual((await app.inject('/api/trades?symbol=ETHUSDT')).json().trades, []);
    for (const path of ['/api/candles', '/api/metrics/trades', '/api/metrics/spreads', '/api/whales', '/api/anomalies', '/api/gaps']) {
      const unknown = await app.inject(`${path}?symbol=XRPUSDT`);
      assert.equal(unknown.statusCode, 404, path);
      assert.equal(unknown.json().code, 'TF_API_UNKNOWN_SYMBOL', path);
    }
    const res = await app.inject('/api/trades?symbol=XRPUSDT');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'TF_API_UNKNOWN_SYMBOL');
    assert.match(res.json().message, /XRPUSDT/);
  });

  await t.test('/api/gaps lists gaps with their size', async () => {
    const res = await app.inject('/api/gaps?symbol=BTCUSDT');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().gaps, [
      {
        symbol: 'BTCUSDT',
        stream: 'trade',
        firstMissingId: 104,
        lastMissingId: 110,
        missing: 7,
        time: T0 + 5_000,
        reason: 'reconnect',
        healStatus: null,
        healRows: null,
        healedAt: null,
        healError: null,
      },
    ]);
    const later = await app.inject(`/api/gaps?from=${encodeURIComponent(new Date(T0 + 6_000).toISOString())}`);
    assert.deepEqual(later.json().gaps, []);
    const earlier = await app.inject(`/api/gaps?from=${T0}&to=${T0 + 5_001}`);
    assert.equal(earlier.json().gaps.length, 1);
  });

  await t.test('bad parameters are 400 with a code and a message naming the parameter and what is allowed', async () => {
    const cases: [string, RegExp][] = [
      ['/api/trades', /symbol: required/],
      ['/api/trades?symbol=BTC-USDT', /symbol: expected a symbol such as BTCUSDT/],
      ['/api/trades?symbol=BTCUSDT&limit=0', /limit: expected a whole number from 1 to 1000/],
      ['/api/trades?symbol=BTCUSDT&limit=abc', /limit: expected a whole number from 1 to 1000/],
      ['/api/candles?symbol=BTCUSDT&interval=2m', /interval: expected one of 1m, 5m, 15m, 1h/],
      ['/api/candles?symbol=BTCUSDT&from=yesterday', /from: expected epoch milliseconds or an ISO 8601 time/],
      ['/api/gaps?colour=red', /unknown parameter colour/],
      ['/api/metrics/trades', /symbol: required/],
      [`/api/candles?symbol=BTCUSDT&from=${T0}&to=${T0}`, /to: must be after from/],
      ['/api/whales?to=2024-13-45T00:00:00Z', /to: expected epoch milliseconds or an ISO 8601 time/],
      ['/api/anomalies?limit=1001', /limit: expected a whole number from 1 to 1000/],
      ['/api/trades?symbol=BTCUSDT&symbol=ETHUSDT', /^symbol: given more than once; give it once$/],
      ['/api/candles?symbol=BTCUSDT&interval=1m&limit=5&limit=6', /^limit: given more than once; give it once$/],
      ['/api/book?symbol=BTCUSDT&depth=5&depth=6', /^depth: given more than once/],
      ['/api/stream?intervals=1m', /^symbols: required: a comma-separated list of symbols such as BTCUSDT,ETHUSDT$/],
    ];
    for (const [url, message] of cases) {
      const res = await app.inject(url);
      assert.equal(res.statusCode, 400, url);
      assert.equal(res.json().code, 'TF_API_BAD_PARAM', url);
      assert.match(res.json().message, message, url);
    }
  });

  await t.test('unknown routes are 404 with a code', async () => {
    const res = await app.inject('/api/nope');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'TF_API_NOT_FOUND');
  });

  await t.test('/api/pipeline reports store counts, health, rates and latency', async () => {
    const res = await app.inject('/api/pipeline');
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.equal(body.bus.kind, 'memory');
    assert.deepEqual(body.store, { kind: 'embedded', reachable: true, gaps: 1, unhealedGaps: 1, deadLetters: 0 });
    assert.equal(body.health.ready, true);
    assert.deepEqual(body.streams, []);
    assert.equal(body.ingestLatencyMs.p99, null);
  });

  await t.test('/api/openapi.json documents every route with the zod-derived parameters and the error codes', async () => {
    const doc = (await app.inject('/api/openapi.json')).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of [
      '/api/symbols',
      '/api/candles',
      '/api/trades',
      '/api/metrics/trades',
      '/api/metrics/spreads',
      '/api/whales',
      '/api/anomalies',
      '/api/gaps',
      '/api/pipeline',
      '/api/stream',
    ]) {
      assert.ok(doc.paths[path]?.get, path);
    }
    const candleParams = doc.paths['/api/candles'].get.parameters;
    const interval = candleParams.find((p: { name: string }) => p.name === 'interval');
    assert.deepEqual(interval.schema.enum, ['1m', '5m', '15m', '1h']);
    assert.equal(candleParams.find((p: { name: string }) => p.name === 'symbol').required, true);
    assert.deepEqual(doc.components.schemas.Error.properties.code.enum, Object.keys(ApiErrors));
  });

  await t.test('probes are served on the API', async () => {
    assert.equal((await app.inject('/live')).statusCode, 200);
    assert.match((await app.inject('/metrics')).body, /tickflow_/);
  });
});

test('with api.token set, /api/* needs the bearer token; the OpenAPI document and probes do not', async (t) => {
  const db = await openTestDatabase(t);
  const { app } = testApp(t, db, { config: { api: { token: 's3cret' } } });
  const missing = await app.inject('/api/symbols');
  assert.equal(missing.statusCode, 401);
  assert.equal(missing.json().code, 'TF_API_UNAUTHORIZED');
  assert.equal(missing.headers['www-authenticate'], 'Bearer');
  assert.equal((await app.inject({ url: '/api/symbols', headers: { authorization: 'Bearer wrong' } })).statusCode, 401);
  assert.equal((await app.inject({ url: '/api/symbols', headers: { authorization: 'Bearer s3cret' } })).statusCode, 200);
  // The query token is for EventSource only.
  assert.equal((await app.inject('/api/symbols?access_token=s3cret')).statusCode, 401);
  assert.equal((await app.inject('/api/openapi.json')).statusCode, 200);
  assert.equal((await app.inject('/ready')).statusCode, 200);
});

test('without a dashboard build, / says how to make one', async (t) => {
  const db = await openTestDatabase(t);
  const { app } = testApp(t, db, { webRoot: '/nonexistent/tickflow-web' });
  const res = await app.inject('/');
  assert.equal(res.statusCode, 503);
  assert.match(res.body, /dashboard not built: run `npm run build`/);
});
