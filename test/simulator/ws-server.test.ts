import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedData } from '../support/data.js';
import { recordedFrames } from '../support/recordings.js';
import { simulator, TestClient } from './client.js';

type Frame = { stream: string; data: Record<string, unknown> };

/** The first recorded payload of each stream type in a real Binance spot recording. */
async function recordedPayloads(path: string): Promise<Map<string, Record<string, unknown>>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const { raw } of await recordedFrames(path)) {
    const msg = JSON.parse(raw) as Partial<Frame>;
    if (msg.stream === undefined || msg.data === undefined) continue;
    const type = msg.stream.slice(msg.stream.indexOf('@') + 1);
    if (!out.has(type)) out.set(type, msg.data);
    if (out.size === 3) break;
  }
  return out;
}

function shape(value: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, Array.isArray(v) ? 'array' : typeof v]));
}

test('combined streams carry the envelope and payloads shaped like a real spot recording', async (t) => {
  const path = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (path === undefined) return;
  const real = await recordedPayloads(path);
  const sim = await simulator(t);
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms`);
  for (const type of ['trade', 'bookTicker', 'depth@100ms']) {
    const frame = await client.waitFor<Frame>((f) => f.stream === `btcusdt@${type}`, type);
    assert.deepEqual(Object.keys(frame), ['stream', 'data']);
    const recorded = real.get(type);
    assert.ok(recorded, `recording has ${type}`);
    assert.deepEqual(shape(frame.data), shape(recorded), `${type} payload keys and types`);
    assert.equal(frame.data.s, 'BTCUSDT');
  }
  const trade = (await client.waitFor<Frame>((f) => f.stream === 'btcusdt@trade', 'trade')).data;
  assert.match(String(trade.p), /^\d+\.\d{8}$/);
  assert.match(String(trade.q), /^\d+\.\d{8}$/);
  const book = (await client.waitFor<Frame>((f) => f.stream === 'btcusdt@bookTicker', 'bookTicker')).data;
  assert.ok(Number(book.b) < Number(book.a), 'bid below ask');
});

test('a raw stream (/ws/<stream>) sends bare payloads of that stream only', async (t) => {
  const sim = await simulator(t);
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/ws/ethusdt@aggTrade`);
  await client.waitForFrames(3);
  for (const msg of client.json() as Record<string, unknown>[]) {
    assert.equal(msg.e, 'aggTrade');
    assert.equal(msg.s, 'ETHUSDT');
    assert.equal(msg.stream, undefined);
  }
});

test('SUBSCRIBE, LIST_SUBSCRIPTIONS, UNSUBSCRIBE and properties answer like Binance', async (t) => {
  // The 5-requests-per-second limit counts by the simulator's clock: the test moves it on a second.
  let later = 0;
  const sim = await simulator(t, { clock: () => Date.now() + later });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream`);
  client.send({ method: 'SUBSCRIBE', params: ['btcusdt@aggTrade', 'ethusdt@bookTicker'], id: 1 });
  await client.until(() => (client.frames.includes('{"result":null,"id":1}') ? true : undefined), 'subscribe result');
  await client.waitFor<Frame>((f) => f.stream === 'ethusdt@bookTicker', 'subscribed stream');
  client.send({ method: 'LIST_SUBSCRIPTIONS', id: 3 });
  const list = await client.waitFor<{ id?: number; result?: string[] }>((m) => m.id === 3, 'list');
  assert.deepEqual([...(list.result ?? [])].sort(), ['btcusdt@aggTrade', 'ethusdt@bookTicker']);
  later += 1_000; // stay under 5 messages per second
  client.send({ method: 'UNSUBSCRIBE', params: ['ethusdt@bookTicker'], id: 312 });
  client.send({ method: 'GET_PROPERTY', params: ['combined'], id: 2 });
  client.send({ method: 'SET_PROPERTY', params: ['combined', false], id: 5 });
  await client.until(() => (client.frames.includes('{"result":null,"id":312}') ? true : undefined), 'unsubscribe result');
  await client.until(() => (client.frames.includes('{"result":true,"id":2}') ? true : undefined), 'get property');
  await client.until(() => (client.frames.includes('{"result":null,"id":5}') ? true : undefined), 'set property');
  const from = client.frames.indexOf('{"result":null,"id":5}');
  await client.until(() => (client.frames.length > from + 3 ? true : undefined), 'raw frames');
  for (const f of client.frames.slice(from + 1)) {
    const msg = JSON.parse(f) as Record<string, unknown>;
    assert.equal(msg.e, 'aggTrade', 'raw payloads of the remaining stream only');
  }
});

test('bad requests get Binance error codes', async (t) => {
  let later = 0;
  const sim = await simulator(t, { clock: () => Date.now() + later });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/ws`);
  client.send('not json');
  client.send({ method: 'SUBSCRIBED', params: [], id: 7 });
  client.send({ method: 'SET_PROPERTY', params: ['colour', true], id: 8 });
  client.send({ method: 'SET_PROPERTY', params: ['combined', 'yes'], id: 9 });
  type Err = { error?: { code: number; msg: string }; id?: unknown };
  const invalidJson = await client.waitFor<Err>((m) => m.error?.code === 3, 'invalid JSON error');
  assert.match(invalidJson.error?.msg ?? '', /^Invalid JSON: /);
  const unknown = await client.waitFor<Err>((m) => m.id === 7, 'unknown method');
  assert.equal(unknown.error?.code, 2);
  assert.match(unknown.error?.msg ?? '', /^Invalid request: unknown variant `SUBSCRIBED`, expected one of `SUBSCRIBE`/);
  assert.deepEqual((await client.waitFor<Err>((m) => m.id === 8, 'unknown property')).error, { code: 0, msg: 'Unknown property' });
  assert.deepEqual((await client.waitFor<Err>((m) => m.id === 9, 'bad value')).error, { code: 1, msg: 'Invalid value type: expected Boolean' });
  later += 1_000; // stay under 5 messages per second
  client.send({ method: 'LIST_SUBSCRIPTIONS', id: { no: 1 } });
  const badId = await client.waitFor<Err>((m) => m.error?.msg === 'Invalid request: request ID must be an unsigned integer', 'bad id');
  assert.equal(badId.error?.code, 2);
});

test('more than 5 incoming messages per second closes the connection', async (t) => {
  const sim = await simulator(t);
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/ws`);
  for (let id = 1; id <= 8; id++) client.send({ method: 'LIST_SUBSCRIPTIONS', id });
  const { code } = await client.closed;
  assert.equal(code, 1008);
  assert.ok(client.frames.length <= 5, 'answers at most 5 requests');
});

test('pings carry a payload; a client that does not pong is disconnected, one that does stays', async (t) => {
  const sim = await simulator(t, { pingIntervalMs: 100, pongTimeoutMs: 2_000 });
  const silent = await TestClient.open(t, `${sim.wsBaseUrl}/ws/btcusdt@trade`, { autoPong: false });
  const polite = await TestClient.open(t, `${sim.wsBaseUrl}/ws/btcusdt@trade`);
  const { code } = await silent.closed;
  assert.equal(code, 1006, 'cut without a close frame');
  assert.ok(silent.pings.length >= 1);
  assert.match(silent.pings[0] ?? '', /^\d+$/);
  await polite.until(() => (polite.pings.length >= 10 ? true : undefined), '10 pings');
  assert.ok(polite.isOpen, 'a ponging client stays connected');
});

test('connections end after their lifetime', async (t) => {
  const sim = await simulator(t, { connectionLifetimeMs: 300 });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/ws/btcusdt@trade`);
  const { code } = await client.closed;
  assert.equal(code, 1000);
  assert.ok(client.frames.length > 0);
});

test('shutdownNotice sends serverShutdown, then closes', async (t) => {
  const sim = await simulator(t);
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade`);
  await client.waitForFrames(1);
  sim.faults.shutdownNotice(200);
  const notice = await client.waitFor<{ event?: { e: string; E: number } }>((m) => m.event !== undefined, 'serverShutdown');
  assert.equal(notice.event?.e, 'serverShutdown');
  assert.equal(typeof notice.event?.E, 'number');
  assert.equal((await client.closed).code, 1001);
});

test('unknown paths and invalid stream names are refused at the handshake', async (t) => {
  const sim = await simulator(t);
  await assert.rejects(TestClient.open(t, `${sim.wsBaseUrl}/nope`), /404/);
  await assert.rejects(TestClient.open(t, `${sim.wsBaseUrl}/ws/btcusdt@nonsense`), /400/);
});

test('issue 9 kind 1 (USD-M routed paths): a stream asked for on the wrong path is accepted and gets no data, as on Binance', async (t) => {
  const sim = await simulator(t, { market: 'usdm', symbols: ['BTCUSDT'], tradesPerSecond: 200, bookTickersPerSecond: 50 });
  const both = 'btcusdt@aggTrade/btcusdt@kline_1s/btcusdt@bookTicker/btcusdt@depth@100ms';
  const market = await TestClient.open(t, `${sim.wsBaseUrl}/market/stream?streams=${both}`);
  const pub = await TestClient.open(t, `${sim.wsBaseUrl}/public/stream?streams=${both}`);
  // Binance serves a connection without a routed path like /public; the raw (/ws) mode is routed too.
  const legacy = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=${both}`);
  const rawMarket = await TestClient.open(t, `${sim.wsBaseUrl}/market/ws/btcusdt@aggTrade`);
  const streamsOf = (c: TestClient) => new Set((c.json() as { stream?: string }[]).map((f) => f.stream));
  const seen = (c: TestClient, names: string[]) => (names.every((n) => streamsOf(c).has(n)) ? true : undefined);
  // Each path delivers both of its own stream types; by then the others, generated alongside, would have come.
  await market.until(() => seen(market, ['btcusdt@aggTrade', 'btcusdt@kline_1s']), 'market data on /market');
  await pub.until(() => seen(pub, ['btcusdt@bookTicker', 'btcusdt@depth@100ms']), 'book data on /public');
  await legacy.until(() => seen(legacy, ['btcusdt@bookTicker', 'btcusdt@depth@100ms']), 'book data on the unrouted path');
  await rawMarket.waitForFrames(3);
  await pub.until(() => (market.json().length >= 100 ? true : undefined), '100 frames on /market');
  assert.deepEqual([...streamsOf(market)].sort(), ['btcusdt@aggTrade', 'btcusdt@kline_1s']);
  assert.deepEqual([...streamsOf(pub)].sort(), ['btcusdt@bookTicker', 'btcusdt@depth@100ms']);
  assert.deepEqual([...streamsOf(legacy)].sort(), ['btcusdt@bookTicker', 'btcusdt@depth@100ms']);
  assert.ok((rawMarket.json() as { e: string }[]).every((f) => f.e === 'aggTrade'));
  // The silent streams are still subscribed, as Binance lists them.
  market.send({ method: 'LIST_SUBSCRIPTIONS', id: 1 });
  const list = await market.waitFor<{ id?: number; result?: string[] }>((m) => m.id === 1, 'subscriptions');
  assert.deepEqual([...(list.result ?? [])].sort(), both.split('/').sort());
  // A SUBSCRIBE on the wrong path is acknowledged and stays silent too; on the right one it delivers.
  pub.send({ method: 'SUBSCRIBE', params: ['btcusdt@trade', 'btcusdt@kline_1m'], id: 2 });
  await pub.waitFor<{ id?: number }>((m) => m.id === 2, 'subscribe ack');
  await pub.until(() => seen(pub, ['btcusdt@trade']), 'trade on /public');
  const before = streamsOf(market).size;
  market.send({ method: 'SUBSCRIBE', params: ['btcusdt@kline_1m'], id: 3 });
  await market.until(() => seen(market, ['btcusdt@kline_1m']), 'kline_1m on /market');
  assert.ok(streamsOf(market).size > before);
  assert.ok(!streamsOf(pub).has('btcusdt@kline_1m'), 'kline_1m never reached /public');
  // Spot has no routed paths.
  const spot = await simulator(t);
  await assert.rejects(TestClient.open(t, `${spot.wsBaseUrl}/market/stream?streams=btcusdt@aggTrade`), /404/);
  await assert.rejects(TestClient.open(t, `${sim.wsBaseUrl}/private/ws`), /404/);
});
