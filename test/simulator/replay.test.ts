import assert from 'node:assert/strict';
import { test } from 'node:test';
import { sharedData } from '../support/data.js';
import { recordedFrames } from '../support/recordings.js';
import { simulator, TestClient } from './client.js';

async function firstLines(path: string, n: number, keep: (raw: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const { raw } of await recordedFrames(path)) {
    if (!keep(raw)) continue;
    out.push(raw);
    if (out.length === n) break;
  }
  return out;
}

test('a replayed recording reaches a combined-stream client byte for byte, from its first line', async (t) => {
  const path = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (path === undefined) return;
  const expected = await firstLines(path, 300, (raw) => raw.startsWith('{"stream"'));
  const sim = await simulator(t, { symbols: ['BTCUSDT'], replayFiles: [path], replaySpeed: 0 });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/stream?streams=btcusdt@trade/btcusdt@bookTicker/btcusdt@depth@100ms`);
  await client.waitForFrames(300);
  assert.deepEqual(client.frames.slice(0, 300), expected);
  const trades = expected.filter((r) => r.startsWith('{"stream":"btcusdt@trade"')).map((r) => (JSON.parse(r) as { data: { t: number } }).data.t);
  const emitted = sim.emitted()['btcusdt@trade'];
  assert.equal(emitted?.firstId, trades[0]);
  assert.ok((emitted?.count ?? 0) >= trades.length);

  const depth = (await (await fetch(`${sim.restBaseUrl}/api/v3/depth?symbol=BTCUSDT&limit=5`)).json()) as { lastUpdateId: number; bids: unknown[] };
  assert.equal(depth.lastUpdateId, 50_093_239_218, 'the recorded REST snapshot');
  assert.equal(depth.bids.length, 5);
  const recent = (await (await fetch(`${sim.restBaseUrl}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=${trades[0]}&limit=3`)).json()) as { id: number }[];
  assert.deepEqual(
    recent.map((x) => x.id),
    trades.slice(0, 3),
  );
});

test('a raw-stream client gets the recorded payloads of its stream only', async (t) => {
  const path = sharedData(t, 'binance-spot-ws', 'ethusdt_20240808.gz');
  if (path === undefined) return;
  const expected = (await firstLines(path, 50, (raw) => raw.startsWith('{"stream":"ethusdt@trade"'))).map((raw) =>
    raw.slice('{"stream":"ethusdt@trade","data":'.length, -1),
  );
  const sim = await simulator(t, { symbols: ['ETHUSDT'], replayFiles: [path], replaySpeed: 0 });
  const client = await TestClient.open(t, `${sim.wsBaseUrl}/ws/ethusdt@trade`);
  await client.waitForFrames(50);
  assert.deepEqual(client.frames.slice(0, 50), expected);
});

test('a missing replay file is refused at start', async (t) => {
  await assert.rejects(simulator(t, { replayFiles: ['/nonexistent/btcusdt_1.gz'] }), /cannot read/);
});
