import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_TIME_MS } from '../../src/api/schemas.js';
import { insertTrades, openTestDatabase, testApp } from './helpers.js';

/** Every route with a time range; `symbol` is required on some, accepted on all. */
const RANGED = ['/api/candles', '/api/metrics/trades', '/api/metrics/spreads', '/api/whales', '/api/anomalies', '/api/gaps'];

/** Times outside what a query may name, each spelled as a user might send it. */
const OUT_OF_RANGE: readonly [value: string, why: string][] = [
  ['253402300800000', 'year 10000 in epoch ms'],
  ['999999999999999', 'the largest 15-digit epoch ms (year 33658)'],
  ['8640000000000001', 'beyond what a JavaScript date holds'],
  ['0000-01-01T00:00:00Z', 'year 0 (before 1970)'],
  ['1969-12-31T23:59:59Z', 'one second before 1970'],
  ['+010000-01-01T00:00:00Z', 'ISO extended year 10000'],
  ['2024-02-30T00:00:00Z', 'a day February lacks (Date.parse rolls it to 1 March)'],
  ['2023-02-29', '29 February of a common year'],
  ['2024-13-01', 'month 13'],
  ['2024-00-10', 'month 0'],
  ['-1', 'negative epoch ms'],
  ['1e15', 'exponent notation'],
];

test('out-of-range and impossible times are a 400 TF_API_BAD_PARAM on every route with a time range, never a 500', async (t) => {
  const db = await openTestDatabase(t);
  await insertTrades(db, [{ symbol: 'BTCUSDT', id: 1, price: '61000.10', quantity: '0.5', time: Date.parse('2024-08-09T00:00:00Z') }]);
  const { app } = testApp(t, db);
  for (const route of RANGED) {
    for (const param of ['from', 'to']) {
      for (const [value, why] of OUT_OF_RANGE) {
        const url = `${route}?symbol=BTCUSDT&${param}=${encodeURIComponent(value)}`;
        const res = await app.inject(url);
        assert.equal(res.statusCode, 400, `${url} (${why}): ${res.body}`);
        const body = res.json() as { code: string; message: string };
        assert.equal(body.code, 'TF_API_BAD_PARAM', url);
        assert.match(body.message, new RegExp(`^${param}: `), `${url}: the message names the parameter: ${body.message}`);
      }
    }
  }
});

test('the edges of the time range are accepted: 1970-01-01 and 9999-12-31T23:59:59.999Z, in epoch ms and ISO 8601', async (t) => {
  const db = await openTestDatabase(t);
  await insertTrades(db, [{ symbol: 'BTCUSDT', id: 1, price: '61000.10', quantity: '0.5', time: Date.parse('2024-08-09T00:00:00Z') }]);
  const { app } = testApp(t, db);
  assert.equal(MAX_TIME_MS, Date.parse('9999-12-31T23:59:59.999Z'));
  const ranges = [
    ['0', String(MAX_TIME_MS)],
    ['1970-01-01T00:00:00Z', '9999-12-31T23:59:59.999Z'],
    ['2024-02-29', '2024-08-10T00:00:00+02:00'],
  ];
  for (const route of RANGED) {
    for (const [from = '', to = ''] of ranges) {
      const url = `${route}?symbol=BTCUSDT&from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`;
      const res = await app.inject(url);
      assert.equal(res.statusCode, 200, `${url}: ${res.body}`);
    }
  }
  const trades = (await app.inject(`/api/whales?from=0&to=${MAX_TIME_MS}`)).json() as { whales: unknown[] };
  assert.ok(Array.isArray(trades.whales));
});

test('a market or exchange no source knows is a 400 naming the known ones on every route that takes them; a known one without data is a 404', async (t) => {
  const db = await openTestDatabase(t);
  await insertTrades(db, [{ symbol: 'BTCUSDT', id: 1, price: '61000.10', quantity: '0.5', time: Date.parse('2024-08-09T00:00:00Z') }]);
  const { app } = testApp(t, db);
  const routes = [...RANGED, '/api/trades', '/api/book'];
  for (const route of routes) {
    for (const [param, value, known] of [
      ['market', 'xxx', /one of spot, usdm/],
      ['market', 'USDM', /one of spot, usdm/],
      ['exchange', 'kraken', /one of binance/],
    ] as const) {
      const url = `${route}?symbol=BTCUSDT&${param}=${value}`;
      const res = await app.inject(url);
      assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
      const body = res.json() as { code: string; message: string };
      assert.equal(body.code, 'TF_API_BAD_PARAM', url);
      assert.match(body.message, new RegExp(`^${param}: `), url);
      assert.match(body.message, known, url);
    }
  }
  assert.equal((await app.inject('/api/trades?symbol=BTCUSDT&market=spot')).statusCode, 200);
  assert.equal((await app.inject('/api/trades?symbol=BTCUSDT&market=usdm')).statusCode, 404, 'a known market this database has no data of');
});
