import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test, type TestContext } from 'node:test';
import { parseUnits } from '../../src/core/decimal.js';
import { sharedData } from '../support/data.js';
import { simulator, TestClient } from './client.js';

type Json = unknown;

/** Keys and value types, recursively (arrays by their first element). */
function shapeOf(v: Json): Json {
  if (Array.isArray(v)) return v.length === 0 ? [] : [shapeOf(v[0])];
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shapeOf(x)]));
  return typeof v;
}

async function fixture(t: TestContext, name: string): Promise<Json | undefined> {
  const path = sharedData(t, 'rest-fixtures', `http_spot_market_${name}.json`);
  return path === undefined ? undefined : (JSON.parse(await readFile(path, 'utf8')) as Json);
}

async function get(base: string, path: string): Promise<{ status: number; body: Json; headers: Headers }> {
  const res = await fetch(`${base}${path}`);
  return { status: res.status, body: (await res.json()) as Json, headers: res.headers };
}

test('REST responses have the shapes of real Binance responses', async (t) => {
  const sim = await simulator(t);
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/ws/btcusdt@trade`);
  await client.waitForFrames(20);
  const cases: [string, string][] = [
    ['ping', '/api/v3/ping'],
    ['time', '/api/v3/time'],
    ['depth', '/api/v3/depth?symbol=BTCUSDT&limit=10'],
    ['trades', '/api/v3/trades?symbol=BTCUSDT&limit=5'],
    ['historical_trades', '/api/v3/historicalTrades?symbol=BTCUSDT&limit=5'],
    ['agg_trades', '/api/v3/aggTrades?symbol=BTCUSDT&limit=5'],
    ['klines', '/api/v3/klines?symbol=BTCUSDT&interval=1s&limit=5'],
    ['book_ticker', '/api/v3/ticker/bookTicker?symbol=BTCUSDT'],
    ['ticker_price', '/api/v3/ticker/price?symbol=BTCUSDT'],
    ['avg_price', '/api/v3/avgPrice?symbol=BTCUSDT'],
  ];
  for (const [name, path] of cases) {
    const expected = await fixture(t, name);
    if (expected === undefined) return;
    const { status, body } = await get(sim.restBaseUrl, path);
    assert.equal(status, 200, path);
    assert.deepEqual(shapeOf(body), shapeOf(expected), `${path} has the shape of ${name}`);
  }
  const info = await fixture(t, 'exchange_info');
  const { body } = await get(sim.restBaseUrl, '/api/v3/exchangeInfo');
  const ours = body as { symbols: { filters: { filterType: string }[] }[]; rateLimits: unknown[] };
  const real = info as typeof ours;
  assert.deepEqual(Object.keys(ours).sort(), Object.keys(real).sort());
  assert.deepEqual(shapeOf(ours.rateLimits), shapeOf(real.rateLimits));
  const { filters: ourFilters, ...ourSymbol } = ours.symbols[0] ?? { filters: [] };
  const { filters: realFilters, ...realSymbol } = real.symbols[0] ?? { filters: [] };
  assert.deepEqual(shapeOf(ourSymbol), shapeOf(realSymbol));
  for (const type of ['PRICE_FILTER', 'LOT_SIZE']) {
    assert.deepEqual(shapeOf(ourFilters.find((f) => f.filterType === type)), shapeOf(realFilters.find((f) => f.filterType === type)), type);
  }
  assert.deepEqual(
    ours.symbols.map((s) => (s as unknown as { symbol: string }).symbol),
    ['BTCUSDT', 'ETHUSDT'],
  );
});

test('REST history is what the WebSocket sent: trades, aggTrades by fromId, exact klines', async (t) => {
  const sim = await simulator(t);
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=ethusdt@trade/ethusdt@aggTrade`);
  await client.waitForFrames(60);
  type F = { stream: string; data: { t: number; a: number; p: string; q: string; m: boolean; T: number } };
  const frames = client.json() as F[];
  const wsTrades = frames.filter((f) => f.stream === 'ethusdt@trade').map((f) => f.data);
  const first = wsTrades[0];
  assert.ok(first);
  const { body } = await get(sim.restBaseUrl, `/api/v3/historicalTrades?symbol=ETHUSDT&fromId=${first.t}&limit=1000`);
  const rest = body as { id: number; price: string; qty: string; quoteQty: string; time: number; isBuyerMaker: boolean }[];
  for (const ws of wsTrades) {
    const r = rest.find((x) => x.id === ws.t);
    assert.ok(r, `trade ${ws.t} in history`);
    assert.deepEqual([r.price, r.qty, r.time, r.isBuyerMaker], [ws.p, ws.q, ws.T, ws.m]);
    assert.equal(parseUnits(r.quoteQty, 8), (parseUnits(r.price, 8) * parseUnits(r.qty, 8)) / 10n ** 8n);
  }
  const wsAgg = frames.filter((f) => f.stream === 'ethusdt@aggTrade').map((f) => f.data);
  const aggFrom = wsAgg[0]?.a ?? 0;
  const agg = (await get(sim.restBaseUrl, `/api/v3/aggTrades?symbol=ETHUSDT&fromId=${aggFrom}&limit=3`)).body as { a: number }[];
  assert.deepEqual(
    agg.map((a) => a.a),
    [aggFrom, aggFrom + 1, aggFrom + 2],
  );

  // Every 1s candle equals the sums of the trades in its second, exactly; wait for a few seconds of trades.
  const times = () => (client.json() as F[]).filter((f) => f.stream === 'ethusdt@trade').map((f) => f.data.T);
  await client.until(() => (Math.max(...times()) - Math.min(...times()) > 3_000 ? true : undefined), '3 s of trades');
  const all = (await get(sim.restBaseUrl, '/api/v3/historicalTrades?symbol=ETHUSDT&limit=1000')).body as typeof rest;
  const klines = (await get(sim.restBaseUrl, '/api/v3/klines?symbol=ETHUSDT&interval=1s&limit=1000')).body as (string | number)[][];
  const oldest = all[0]?.time ?? 0;
  const newest = all[all.length - 1]?.time ?? 0;
  let checked = 0;
  for (const k of klines) {
    const open = Number(k[0]);
    if (open < oldest - (oldest % 1000) + 1000) continue; // the first candle may predate the page
    if (Number(k[6]) >= newest) continue; // the last one may have traded again between the two requests
    const inside = all.filter((x) => x.time >= open && x.time <= Number(k[6]));
    if (inside.length === 0) continue;
    const volume = inside.reduce((s, x) => s + parseUnits(x.qty, 8), 0n);
    assert.equal(parseUnits(String(k[5]), 8), volume, `volume of ${open}`);
    assert.equal(k[8], inside.length);
    assert.equal(k[1], inside[0]?.price);
    assert.equal(k[4], inside[inside.length - 1]?.price);
    checked += 1;
  }
  assert.ok(checked > 0);
});

test('weights are counted in X-MBX-USED-WEIGHT-1M; over the limit 429, then 418 with Retry-After', async (t) => {
  // The limit window is the calendar minute of the simulator's clock: the test sets it.
  let now = Date.UTC(2024, 7, 8, 23, 59, 0, 0);
  const sim = await simulator(t, { weightLimitPerMinute: 30, clock: () => now });
  const a = await get(sim.restBaseUrl, '/api/v3/ping');
  assert.equal(a.headers.get('x-mbx-used-weight-1m'), '1');
  const b = await get(sim.restBaseUrl, '/api/v3/exchangeInfo');
  assert.equal(b.status, 200);
  assert.equal(b.headers.get('x-mbx-used-weight-1m'), '21');
  const c = await get(sim.restBaseUrl, '/api/v3/depth?symbol=BTCUSDT&limit=500');
  assert.equal(c.status, 429);
  assert.equal((c.body as { code: number }).code, -1003);
  assert.equal(c.headers.get('retry-after'), '60', 'the rest of the minute');
  const d = await get(sim.restBaseUrl, '/api/v3/ping');
  assert.equal(d.status, 418);
  assert.equal((d.body as { msg: string }).msg.match(/IP banned until (\d+)/)?.[1], String(now + 120_000), 'a first ban lasts 2 minutes');
  assert.equal(d.headers.get('retry-after'), '120');
  now += 60_000;
  const e = await get(sim.restBaseUrl, '/api/v3/time');
  assert.equal(e.status, 418, 'still banned in the next minute');
  assert.equal(e.headers.get('retry-after'), '60');
  now += 60_000;
  const f = await get(sim.restBaseUrl, '/api/v3/ping');
  assert.equal(f.status, 200, 'the ban is over');
  assert.equal(f.headers.get('x-mbx-used-weight-1m'), '1', 'a new minute, a new count');
});

test('bad parameters get Binance error codes', async (t) => {
  const sim = await simulator(t);
  const cases: [string, number, number][] = [
    ['/api/v3/trades', 400, -1102],
    ['/api/v3/trades?symbol=NOPE', 400, -1121],
    ['/api/v3/klines?symbol=BTCUSDT&interval=7m', 400, -1120],
    ['/api/v3/aggTrades?symbol=BTCUSDT&limit=abc', 400, -1100],
    ['/api/v3/aggTrades?symbol=BTCUSDT&startTime=0&endTime=7200000', 400, -1127],
  ];
  for (const [path, status, code] of cases) {
    const res = await get(sim.restBaseUrl, path);
    assert.equal(res.status, status, path);
    assert.equal((res.body as { code: number }).code, code, path);
  }
});
