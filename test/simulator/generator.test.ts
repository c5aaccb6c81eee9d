import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUnits } from '../../src/core/decimal.js';
import { sharedData } from '../support/data.js';
import { recordedFrames } from '../support/recordings.js';
import { simulator, TestClient } from './client.js';

type Trade = { id: number; price: string; qty: string; isBuyerMaker: boolean };

async function firstTrades(restBaseUrl: string, n: number): Promise<Trade[]> {
  for (;;) {
    const latest = (await (await fetch(`${restBaseUrl}/api/v3/historicalTrades?symbol=BTCUSDT&limit=1000`)).json()) as Trade[];
    if (latest.length >= n) return latest.slice(0, n);
    await new Promise((r) => setTimeout(r, 100));
  }
}

test('two simulators with the same seed trade the same market', async (t) => {
  const a = await simulator(t, { seed: 5 });
  const b = await simulator(t, { seed: 5 });
  const c = await simulator(t, { seed: 6 });
  // Ids come from the start time (they continue across restarts), so compare them from the first one.
  const strip = (ts: Trade[]) => ts.map(({ id, price, qty, isBuyerMaker }) => ({ id: id - ts[0]!.id, price, qty, isBuyerMaker }));
  const [ta, tb, tc] = await Promise.all([firstTrades(a.restBaseUrl, 40), firstTrades(b.restBaseUrl, 40), firstTrades(c.restBaseUrl, 40)]);
  assert.deepEqual(strip(ta), strip(tb));
  assert.notDeepEqual(strip(ta), strip(tc));
});

test('a closed kline equals the trades of its interval', async (t) => {
  const sim = await simulator(t);
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade/btcusdt@kline_1s`);
  type K = { stream: string; data: { k: Record<string, string | number | boolean>; t: number; p: string; q: string; T: number; m: boolean } };
  await client.waitForFrames(1);
  const firstSecond = Math.floor(Date.now() / 1_000) * 1_000 + 1_000;
  const kline = await client.waitFor<K>(
    (f) => f.stream === 'btcusdt@kline_1s' && f.data.k.x === true && Number(f.data.k.t) >= firstSecond,
    'a closed 1s kline',
  );
  const k = kline.data.k;
  const trades = (client.json() as K[]).filter((f) => f.stream === 'btcusdt@trade' && f.data.T >= Number(k.t) && f.data.T <= Number(k.T)).map((f) => f.data);
  assert.equal(k.n, trades.length);
  if (trades.length === 0) {
    assert.equal(k.f, -1);
    return;
  }
  const prices = trades.map((x) => parseUnits(x.p, 8));
  const sum = (xs: bigint[]) => xs.reduce((s, x) => s + x, 0n);
  assert.equal(k.f, trades[0]?.t);
  assert.equal(k.L, trades[trades.length - 1]?.t);
  assert.equal(k.o, trades[0]?.p);
  assert.equal(k.c, trades[trades.length - 1]?.p);
  // biome-ignore lint/complexity/useMathMinMax: the prices are bigints, which Math.max refuses
  const highest = prices.reduce((m, x) => (x > m ? x : m));
  // biome-ignore lint/complexity/useMathMinMax: the prices are bigints, which Math.min refuses
  const lowest = prices.reduce((m, x) => (x < m ? x : m));
  assert.equal(parseUnits(String(k.h), 8), highest);
  assert.equal(parseUnits(String(k.l), 8), lowest);
  assert.equal(parseUnits(String(k.v), 8), sum(trades.map((x) => parseUnits(x.q, 8))));
  assert.equal(parseUnits(String(k.V), 8), sum(trades.filter((x) => !x.m).map((x) => parseUnits(x.q, 8))));
  assert.equal(parseUnits(String(k.q), 16) / 10n ** 8n, sum(trades.map((x) => parseUnits(x.p, 8) * parseUnits(x.q, 8))) / 10n ** 8n);
});

test('REST depth snapshot plus depth diffs reproduce the bookTickers with the same update id', async (t) => {
  const sim = await simulator(t, { symbols: ['ETHUSDT'] });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=ethusdt@depth@100ms/ethusdt@bookTicker`);
  await client.waitForFrames(5);
  const snap = (await (await fetch(`${sim.restBaseUrl}/api/v3/depth?symbol=ETHUSDT&limit=1000`)).json()) as {
    lastUpdateId: number;
    bids: [string, string][];
    asks: [string, string][];
  };
  await client.waitForFrames(client.frames.length + 150);
  type D = { stream: string; data: { U: number; u: number; b: [string, string][]; a: [string, string][]; B: string; A: string } };
  const frames = client.json() as D[];
  const bids = new Map(snap.bids);
  const asks = new Map(snap.asks);
  const tickers = new Map(frames.filter((f) => f.stream === 'ethusdt@bookTicker').map((f) => [f.data.u, f.data]));
  let last = snap.lastUpdateId;
  let synced = false;
  let compared = 0;
  for (const { stream, data } of frames) {
    if (stream !== 'ethusdt@depth@100ms' || data.u <= snap.lastUpdateId) continue;
    // Binance's local order book rule: the first diff must straddle the snapshot.
    if (!synced) assert.ok(data.U <= snap.lastUpdateId + 1 && data.u >= snap.lastUpdateId + 1);
    else assert.equal(data.U, last + 1, 'diffs are contiguous');
    synced = true;
    last = data.u;
    for (const [side, levels] of [
      [bids, data.b],
      [asks, data.a],
    ] as const) {
      for (const [p, q] of levels) {
        if (parseUnits(q, 8) === 0n) side.delete(p);
        else side.set(p, q);
      }
    }
    const ticker = tickers.get(data.u);
    if (ticker === undefined) continue;
    const bestBid = [...bids.keys()].sort((x, y) => Number(y) - Number(x))[0] ?? '';
    const bestAsk = [...asks.keys()].sort((x, y) => Number(x) - Number(y))[0] ?? '';
    assert.deepEqual([bestBid, bids.get(bestBid), bestAsk, asks.get(bestAsk)], [ticker.b, ticker.B, ticker.a, ticker.A]);
    compared += 1;
  }
  assert.ok(compared > 0, 'some bookTickers share a diff final id');
});

test('a USD-M simulator sends payloads shaped like the USD-M recording', async (t) => {
  const path = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (path === undefined) return;
  const recorded = new Map<string, Record<string, unknown>>();
  for (const { raw } of await recordedFrames(path)) {
    const msg = JSON.parse(raw) as { stream?: string; data?: Record<string, unknown> };
    const type = msg.stream?.split('@')[1];
    if (type !== undefined && msg.data !== undefined && !recorded.has(type)) recorded.set(type, msg.data);
    if (recorded.has('trade') && recorded.has('bookTicker')) break;
  }
  const sim = await simulator(t, { market: 'usdm', symbols: ['BTCUSDT'] });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade/btcusdt@bookTicker`);
  const shape = (v: Record<string, unknown>) => Object.fromEntries(Object.entries(v).map(([k, x]) => [k, typeof x]));
  for (const type of ['trade', 'bookTicker']) {
    const frame = await client.waitFor<{ stream: string; data: Record<string, unknown> }>((f) => f.stream === `btcusdt@${type}`, type);
    assert.deepEqual(shape(frame.data), shape(recorded.get(type) ?? {}), type);
  }
  const trade = await client.waitFor<{ stream: string; data: { p: string; q: string } }>((f) => f.stream === 'btcusdt@trade', 'trade');
  assert.match(trade.data.p, /^\d+\.\d0$/, 'USD-M BTCUSDT: two decimals, tick 0.10');
  assert.match(trade.data.q, /^\d+\.\d{3}$/, 'USD-M BTCUSDT: lot 0.001');
});
