import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiErrors } from '../../src/api/errors.js';
import { insertTrades, openTestDatabase, testApp } from './helpers.js';

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
  const { app } = testApp(t, db);

  await t.test('/api/symbols lists configured symbols and symbols with data', async () => {
    const res = await app.inject('/api/symbols');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().symbols, [
      { symbol: 'BTCUSDT', configured: true, hasData: true },
      { symbol: 'ETHUSDT', configured: true, hasData: false },
      { symbol: 'SOLUSDT', configured: false, hasData: true },
    ]);
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
    const res = await app.inject('/api/trades?symbol=XRPUSDT');
    assert.equal(res.statusCode, 404);
    assert.equal(res.json().code, 'TF_API_UNKNOWN_SYMBOL');
    assert.match(res.json().message, /XRPUSDT/);
  });

  await t.test('/api/gaps lists gaps with their size', async () => {
    const res = await app.inject('/api/gaps?symbol=BTCUSDT');
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json().gaps, [
      { symbol: 'BTCUSDT', stream: 'trade', firstMissingId: 104, lastMissingId: 110, missing: 7, time: T0 + 5_000, reason: 'reconnect' },
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
      ['/api/trades?symbol=BTCUSDT&symbol=ETHUSDT', /symbol: /],
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
    assert.deepEqual(body.store, { kind: 'embedded', reachable: true, gaps: 1, deadLetters: 0 });
    assert.equal(body.health.ready, true);
    assert.deepEqual(body.streams, []);
    assert.equal(body.ingestLatencyMs.p99, null);
  });

  await t.test('/api/openapi.json documents every route with the zod-derived parameters and the error codes', async () => {
    const doc = (await app.inject('/api/openapi.json')).json();
    assert.equal(doc.openapi, '3.1.0');
    for (const path of ['/api/symbols', '/api/candles', '/api/trades', '/api/metrics/trades', '/api/metrics/spreads', '/api/whales', '/api/gaps', '/api/pipeline', '/api/stream']) {
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
