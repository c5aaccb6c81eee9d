import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUnits } from '../../src/core/decimal.js';
import { FAULT_LIMITS } from '../../src/simulator/faults.js';
import type { Simulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait.js';
import { simulator, TestClient } from './client.js';

type TradeFrame = { stream: string; data: { t: number } };

function tradeIds(client: TestClient, stream = 'btcusdt@trade'): number[] {
  return (client.json() as TradeFrame[]).filter((f) => f.stream === stream).map((f) => f.data.t);
}

/** The ids emitted() reports for a stream, expanded. */
function emittedIds(sim: Simulator, stream: string): Set<number> {
  const out = new Set<number>();
  for (const [a, b] of sim.emitted()[stream]?.ranges ?? []) for (let id = a; id <= b; id++) out.add(id);
  return out;
}

/**
 * What the only client parsed equals what emitted() reports. Frames keep flowing, so: every id
 * reported before is eventually received, and nothing is received that is not reported after.
 */
async function assertConsistent(sim: Simulator, client: TestClient, stream = 'btcusdt@trade'): Promise<void> {
  const before = emittedIds(sim, stream);
  await client.until(() => {
    const got = new Set(tradeIds(client, stream));
    return [...before].every((id) => got.has(id)) ? true : undefined;
  }, 'every emitted id');
  const received = new Set(tradeIds(client, stream));
  const after = emittedIds(sim, stream);
  for (const id of received) assert.ok(after.has(id), `received ${id} is reported as emitted`);
  assert.ok((sim.emitted()[stream]?.count ?? 0) >= received.size);
}

function gaps(ids: number[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < ids.length; i++) {
    const prev = ids[i - 1] ?? 0;
    const cur = ids[i] ?? 0;
    if (cur > prev + 1) out.push([prev + 1, cur - 1]);
  }
  return out;
}

async function tradeClient(t: Parameters<typeof simulator>[0], sim: Simulator): Promise<TestClient> {
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade`);
  await client.waitForFrames(10);
  return client;
}

test('without faults the ids are contiguous and emitted() matches the client exactly', async (t) => {
  const sim = await simulator(t);
  const client = await tradeClient(t, sim);
  await client.waitForFrames(80);
  const ids = tradeIds(client);
  assert.deepEqual(gaps(ids), []);
  await assertConsistent(sim, client);
});

test('skipIds leaves exactly that hole on the wire while REST history keeps the trades', async (t) => {
  const sim = await simulator(t);
  const client = await tradeClient(t, sim);
  sim.faults.skipIds('BTCUSDT', 'trade', 5);
  await client.waitForFrames(40);
  const holes = gaps(tradeIds(client));
  assert.equal(holes.length, 1);
  const [first, last] = holes[0] ?? [0, 0];
  assert.equal(last - first + 1, 5);
  await assertConsistent(sim, client);
  const res = await fetch(`${sim.restBaseUrl}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${first}&limit=5`);
  assert.deepEqual(
    ((await res.json()) as { id: number }[]).map((x) => x.id),
    [first, first + 1, first + 2, first + 3, first + 4],
  );
});

test('stall sends nothing for a while, then resumes past a gap', async (t) => {
  const sim = await simulator(t);
  const client = await tradeClient(t, sim);
  sim.faults.stall(600);
  const before = client.frames.length;
  await client.waitForFrames(before + 20);
  assert.equal(gaps(tradeIds(client)).length, 1, 'the stalled trades are lost');
  await assertConsistent(sim, client);
});

test('malformed frames are unparsable and not counted as emitted', async (t) => {
  const sim = await simulator(t);
  const client = await tradeClient(t, sim);
  sim.faults.malformed(3);
  const before = client.frames.length;
  await client.waitForFrames(before + 20);
  const bad = client.frames.filter((f) => {
    try {
      JSON.parse(f);
      return false;
    } catch {
      return true;
    }
  });
  assert.equal(bad.length, 3);
  await assertConsistent(sim, client);
});

test('duplicate sends frames twice; emitted() counts them once', async (t) => {
  const sim = await simulator(t);
  const client = await tradeClient(t, sim);
  sim.faults.duplicate(4);
  const before = client.frames.length;
  await client.waitForFrames(before + 20);
  const ids = tradeIds(client);
  assert.equal(ids.length - new Set(ids).size, 4);
  await assertConsistent(sim, client);
});

test('reorder delivers a batch in reverse order', async (t) => {
  const sim = await simulator(t);
  const client = await tradeClient(t, sim);
  sim.faults.reorder(4);
  const before = client.frames.length;
  await client.waitForFrames(before + 20);
  const ids = tradeIds(client);
  const descents = ids.filter((id, i) => i > 0 && id < (ids[i - 1] ?? 0)).length;
  assert.equal(descents, 3, 'four frames reversed make three descents');
  assert.deepEqual(
    [...new Set(ids)].sort((a, b) => a - b),
    [...ids].sort((a, b) => a - b),
  );
  await assertConsistent(sim, client);
});

test('dropConnections cuts clients; a reconnecting client sees the ids it missed as a gap', async (t) => {
  let skipped = 0;
  const sim = await simulator(t, { clock: () => Date.now() + skipped });
  const first = await tradeClient(t, sim);
  assert.equal(sim.faults.dropConnections(), 1);
  assert.equal((await first.closed).code, 1006);
  const lastSeen = Math.max(...tradeIds(first));
  // A second of market passes while nobody listens (the clock jumps instead of the test sleeping);
  // REST history shows when the market has played it.
  skipped += 1_000;
  const latest = async () => ((await (await fetch(`${sim.restBaseUrl}/api/v3/trades?symbol=BTCUSDT&limit=1`)).json()) as { id: number }[])[0]?.id ?? 0;
  await waitFor('the market to trade on unheard', async () => (await latest()) > lastSeen + 1, { progress: latest });
  const second = await tradeClient(t, sim);
  const next = Math.min(...tradeIds(second));
  assert.ok(next > lastSeen + 1, 'the market kept trading while nobody listened');
  const ranges = sim.emitted()['btcusdt@trade']?.ranges ?? [];
  assert.equal(ranges.length, 2);
  // A frame handed to the socket just before the cut may be lost in flight, yet counted as sent.
  assert.ok((ranges[0]?.[1] ?? 0) >= lastSeen);
  assert.equal(ranges[1]?.[0], next);
});

test('burst raises the trade rate for its duration of market time', async (t) => {
  // The market's clock is the test's: one second of it is one second of market, however busy the machine.
  let now = Date.now();
  const sim = await simulator(t, { tradesPerSecond: 10, clock: () => now });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade`);
  const lastId = () => sim.emitted()['btcusdt@trade']?.lastId ?? 0;
  now += 2_000;
  await waitFor('trades at the base rate', () => lastId() > 0, { progress: lastId });
  const start = lastId();
  sim.faults.burst(1_000, 1_000);
  now += 1_000;
  // 1,000 trades/s for one second of market time; at 10/s the ids would stop near start + 10.
  await waitFor('the burst played', () => lastId() - start > 300, { progress: lastId });
  await assertConsistent(sim, client);
});

test('whale makes the next trade one taker fill worth the notional, at the touch, in aggTrade and kline too', async (t) => {
  const sim = await simulator(t);
  const streams = ['btcusdt@trade', 'btcusdt@aggTrade', 'btcusdt@bookTicker', 'btcusdt@kline_1s'];
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=${streams.join('/')}`);
  await client.waitForFrames(20);
  sim.faults.whale('btcusdt', 250_000);
  // whale() catches the market up first: every trade before the whale is already emitted.
  const before = Math.max(...(sim.emitted()['btcusdt@trade']?.ranges ?? []).map(([, last]) => last));
  type Frame = { stream: string; data: Record<string, string | number | boolean> };
  const frames = () => client.json() as Frame[];
  const whale = await client.waitFor<Frame>((f) => f.stream === 'btcusdt@trade' && Number(f.data.t) === before + 1, 'the whale trade');
  const price = parseUnits(String(whale.data.p), 8);
  const qty = parseUnits(String(whale.data.q), 8);
  const notional = 250_000n * 10n ** 16n;
  const step = 10n ** 3n; // BTCUSDT spot lot step 0.00001 in units of 10^-8
  assert.ok(price * qty >= notional, `${whale.data.p} × ${whale.data.q} reaches 250000`);
  assert.ok(price * (qty - step) < notional, 'the smallest lot count that reaches it');
  // The taker hit the touch that the last bookTicker before it showed (ask for a buy, bid for a sell).
  const index = frames().indexOf(whale);
  const touch = frames()
    .slice(0, index)
    .findLast((f) => f.stream === 'btcusdt@bookTicker');
  assert.equal(whale.data.p, touch?.data[whale.data.m ? 'b' : 'a']);
  const agg = await client.waitFor<Frame>((f) => f.stream === 'btcusdt@aggTrade' && f.data.f === whale.data.t, 'its aggTrade');
  assert.deepEqual([agg.data.l, agg.data.p, agg.data.q, agg.data.m], [whale.data.t, whale.data.p, whale.data.q, whale.data.m]);
  const kline = await client.waitFor<{ stream: string; data: { k: { t: number; T: number; v: string; x: boolean } } }>(
    (f) => f.stream === 'btcusdt@kline_1s' && f.data.k.x && f.data.k.t <= Number(whale.data.T) && Number(whale.data.T) <= f.data.k.T,
    'the closed 1s kline of the whale',
  );
  assert.ok(parseUnits(kline.data.k.v, 8) >= qty, `kline volume ${kline.data.k.v} includes ${whale.data.q}`);
  assert.throws(() => sim.faults.whale('DOGEUSDT', 1), /does not trade DOGEUSDT/);
});

test('faults can be driven over HTTP and emitted() read back as JSON', async (t) => {
  const sim = await simulator(t);
  const client = await tradeClient(t, sim);
  const post = (name: string, body: unknown) =>
    fetch(`${sim.restBaseUrl}/sim/faults/${name}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const ok = await post('skipIds', { symbol: 'BTCUSDT', stream: 'trade', n: 2 });
  assert.equal(ok.status, 200);
  assert.equal((await post('skipIds', { symbol: 'BTCUSDT', n: 'two' })).status, 400);
  assert.equal((await post('explode', {})).status, 400);
  for (const inherited of ['constructor', 'toString']) {
    const res = await post(inherited, {});
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { error: string }).error, new RegExp(`^unknown fault "${inherited}"; expected one of dropConnections`));
  }
  const mistyped = await post('skipIds', { symbol: 'BTCUSD', n: 2 });
  assert.deepEqual([mistyped.status, ((await mistyped.json()) as { error: string }).error], [400, 'skipIds: the simulator does not trade BTCUSD']);
  assert.equal((await post('whale', { symbol: 'BTCUSDT', notional: 250_000 })).status, 200);
  assert.equal((await post('whale', { symbol: 'NOPEUSDT', notional: 250_000 })).status, 400);
  assert.equal((await post('whale', { symbol: 'BTCUSDT', notional: -1 })).status, 400);
  await client.waitForFrames(client.frames.length + 20);
  assert.equal(gaps(tradeIds(client)).length, 1);
  const report = (await (await fetch(`${sim.restBaseUrl}/sim/emitted`)).json()) as Record<string, unknown>;
  assert.deepEqual(Object.keys(report), ['btcusdt@trade']);
  const drop = await post('dropConnections', {});
  assert.deepEqual(await drop.json(), { ok: true, result: { dropped: 1 } });
});

test('fault parameters are bounded: a duration past a day, a count past a million, an absurd rate or notional is refused with the limit', async (t) => {
  const sim = await simulator(t);
  const post = async (name: string, body: unknown) => {
    const res = await fetch(`${sim.restBaseUrl}/sim/faults/${name}`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
    });
    return { status: res.status, text: await res.text() };
  };
  const refused: [string, Record<string, number>, string][] = [
    ['stall', { ms: 2 ** 31 }, 'ms'],
    ['stall', { ms: 0 }, 'ms'],
    ['burst', { durationMs: FAULT_LIMITS.ms + 1 }, 'durationMs'],
    ['burst', { ratePerSec: FAULT_LIMITS.ratePerSec * 10 }, 'ratePerSec'],
    ['shutdownNotice', { closeAfterMs: 1e13 }, 'closeAfterMs'],
    ['malformed', { n: FAULT_LIMITS.n + 1 }, 'n'],
    ['skipIds', { n: 1e15 }, 'n'],
    ['whale', { notional: 1e30 }, 'notional'],
  ];
  for (const [name, body, key] of refused) {
    const r = await post(name, body);
    assert.equal(r.status, 400, `${name} ${JSON.stringify(body)}`);
    assert.match(r.text, new RegExp(`${key}: Too (big|small)`), r.text);
  }
  // At the limits themselves, the faults apply.
  assert.equal((await post('stall', { ms: 1 })).status, 200);
  assert.equal((await post('burst', { ratePerSec: FAULT_LIMITS.ratePerSec, durationMs: 1 })).status, 200);
  assert.equal((await post('shutdownNotice', { closeAfterMs: FAULT_LIMITS.ms })).status, 200);
});
