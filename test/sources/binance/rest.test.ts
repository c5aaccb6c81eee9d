import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TickflowError } from '../../../src/core/errors.js';
import { BinanceRestClient } from '../../../src/sources/binance/rest.js';
import { startSimulator } from '../../../src/simulator/index.js';
import { simulator, TestClient } from '../../simulator/client.js';

test('REST client: paginates aggTrades and historicalTrades by id, exactly the ids asked for', async (t) => {
  const sim = await simulator(t, { tradesPerSecond: 400 });
  const ws = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade/btcusdt@aggTrade`);
  await ws.waitForFrames(2_500, 30_000);
  const emitted = sim.emitted();
  const trades = emitted['btcusdt@trade'];
  const aggs = emitted['btcusdt@aggTrade'];
  assert.ok(trades?.firstId != null && trades.lastId != null && aggs?.firstId != null && aggs.lastId != null);
  const client = new BinanceRestClient({ baseUrl: sim.restBaseUrl, market: 'spot' });
  const collect = async (kind: 'trade' | 'aggTrade', from: number, to: number) => {
    const ids: number[] = [];
    let pages = 0;
    for await (const page of client.idRange(kind, 'BTCUSDT', from, to)) {
      pages += 1;
      for (const e of page.items) ids.push(e.type === 'trade' ? e.tradeId : e.type === 'aggTrade' ? e.aggTradeId : -1);
    }
    return { ids, pages };
  };
  const t0 = trades.firstId + 3;
  const t1 = trades.lastId - 2;
  const got = await collect('trade', t0, t1);
  assert.ok(t1 - t0 + 1 > 1_000, 'more than one page of trades');
  assert.deepEqual(
    got.ids,
    Array.from({ length: t1 - t0 + 1 }, (_, i) => t0 + i),
  );
  assert.equal(got.pages, Math.ceil((t1 - t0 + 1) / 1_000));
  const [a0, a1] = [aggs.firstId, aggs.lastId];
  const a = await collect('aggTrade', a0, a1);
  assert.deepEqual(
    a.ids,
    Array.from({ length: a1 - a0 + 1 }, (_, i) => a0 + i),
  );
  // Ids the exchange does not have yet end the range early instead of looping.
  const beyond = await collect('trade', trades.lastId + 1_000_000, trades.lastId + 1_000_010);
  assert.deepEqual(beyond.ids, []);
  assert.equal(beyond.pages, 1);
});

test('REST client: USD-M /fapi/v1 depth, aggTrades, historicalTrades and klines from the simulator', async (t) => {
  const sim = await simulator(t, { market: 'usdm', tradesPerSecond: 100 });
  const ws = await TestClient.open(t, `${sim.wsBaseUrl}/ws/btcusdt@trade`);
  await ws.waitForFrames(50);
  const client = new BinanceRestClient({ baseUrl: sim.restBaseUrl, market: 'usdm' });
  const book = await client.depth('BTCUSDT');
  assert.ok(book.lastUpdateId > 0 && book.bids.length > 0 && book.asks.length > 0);
  assert.equal(typeof book.eventTime, 'number', 'USD-M depth carries E');
  const first = (JSON.parse(ws.frames[0] ?? '{}') as { t: number }).t;
  const page = await client.tradesPage('BTCUSDT', first);
  assert.equal(page.items[0]?.type === 'trade' ? page.items[0].tradeId : -1, first);
  assert.ok(page.items.length <= 500, 'USD-M historicalTrades pages hold at most 500');
  const aggs = await client.aggTradesBetweenPage('BTCUSDT', Date.now() - 60_000, Date.now());
  assert.ok(aggs.items.length > 0);
  const start = Date.now() - 120_000;
  const rows = [];
  for await (const p of client.klineRange('BTCUSDT', '1s', start - (start % 1_000), Date.now(), 1_000)) rows.push(...p.items);
  assert.ok(rows.length > 0 && rows.every((k) => k.closeTime === k.openTime + 999));
  assert.equal(client.weight().limit, 2_400, 'USD-M publishes 2400 weight per minute');
  // A spot path on the USD-M simulator is not found (separate hosts on Binance).
  const res = await fetch(`${sim.restBaseUrl}/api/v3/depth?symbol=BTCUSDT`);
  assert.equal(res.status, 404);
  // USD-M depth takes only its listed limits, as Binance does; the client says which code it got.
  assert.equal((await client.depth('BTCUSDT', 5)).bids.length, 5);
  for (const limit of [2_000, 250, 1]) {
    await assert.rejects(
      client.depth('BTCUSDT', limit),
      (err: unknown) => err instanceof TickflowError && err.code === 'TF_REST_REJECTED' && /-4021/.test(err.message),
      String(limit),
    );
  }
});

test('REST client: rejected requests fail at once with Binance code, not retried', async (t) => {
  const sim = await simulator(t);
  const statuses: number[] = [];
  const client = new BinanceRestClient({ baseUrl: sim.restBaseUrl, market: 'spot', onResponse: (_p, status) => statuses.push(status) });
  await assert.rejects(client.depth('NOPE'), (err: unknown) => err instanceof TickflowError && err.code === 'TF_REST_REJECTED' && /-1121/.test(err.message));
  assert.deepEqual(statuses, [400]);
  const down = new BinanceRestClient({ baseUrl: 'http://127.0.0.1:9', market: 'spot', attempts: 2 });
  await assert.rejects(down.depth('BTCUSDT'), (err: unknown) => err instanceof TickflowError && err.code === 'TF_REST_UNAVAILABLE' && err.canRetry);
});

test('hammering the simulator REST limiter never reaches 418: the budget slows first, a 429 is waited out', async (t) => {
  // Two exchanges (the limiter counts per IP): one whose limit the client knows, one it overestimates.
  const known = await startSimulator({ symbols: ['BTCUSDT'], weightLimitPerMinute: 100 });
  const unknown = await startSimulator({ symbols: ['BTCUSDT'], weightLimitPerMinute: 100 });
  t.after(() => Promise.all([known.close(), unknown.close()]));
  const seen = { known: [] as number[], unknown: [] as number[] };
  const polite = new BinanceRestClient({ baseUrl: known.restBaseUrl, market: 'spot', weightLimitPerMinute: 100, onResponse: (_p, s) => seen.known.push(s) });
  const naive = new BinanceRestClient({
    baseUrl: unknown.restBaseUrl,
    market: 'spot',
    weightLimitPerMinute: 6_000,
    attempts: 3,
    onResponse: (_p, s) => seen.unknown.push(s),
  });
  // 30 concurrent aggTrades pages of weight 4 each = 120 weight: more than either minute allows.
  const hammer = (c: BinanceRestClient) =>
    Promise.all(Array.from({ length: 30 }, () => c.aggTradesBetweenPage('BTCUSDT', Date.now() - 1_000, Date.now(), { priority: 'live' })));
  const [a, b] = await Promise.all([hammer(polite), hammer(naive)]);
  assert.equal(a.length, 30);
  assert.equal(b.length, 30);
  assert.deepEqual([...new Set(seen.known)], [200], 'the budgeted client never even saw a 429');
  assert.ok(!seen.unknown.includes(418), `never banned: ${seen.unknown.join(',')}`);
  assert.ok(seen.unknown.includes(429), 'the overconfident client did hit the limit and backed off');
});
