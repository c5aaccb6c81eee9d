import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { cluster, startRole } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

test('ingest → Kafka → store + process → PostgreSQL, and tickflow serve shows it: API, candles, live stream', async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 3, tradesPerSecond: 40 });
  t.after(() => sim.close());
  const prefix = uniquePrefix('full');
  const on = cluster(t, prefix, await freshDatabase(t));
  const group = ['--set', `bus.groupPrefix=${prefix}`];
  const common = [...group, '--symbols', SYMBOLS.join(',')];
  const env = { TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest' };
  await startRole(t, 'store', on, [...group, '--set', 'store.batchMs=500'], env);
  await startRole(t, 'process', on, [...group, '--set', 'processor.triggerIntervalMs=1000'], env);
  const serve = await startRole(t, 'serve', on, [...common, '--port', '0', '--set', 'processor.triggerIntervalMs=1000']);
  await startRole(t, 'ingest', on, [...common, '--source', 'binance', '--ws-url', sim.wsBaseUrl, '--streams', 'trade,aggTrade,bookTicker']);
  const api = serve.opsUrl;

  // The live channel carries trades from Kafka while the page is open.
  const controller = new AbortController();
  t.after(() => controller.abort());
  const stream = await fetch(`${api}/api/stream?symbols=BTCUSDT`, { signal: controller.signal });
  assert.equal(stream.status, 200);
  const reader = stream.body!.getReader();
  let text = '';
  await waitFor(
    'a live trade over SSE',
    async () => {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      return /"type":"trade"/.test(text) && /"symbol":"BTCUSDT"/.test(text);
    },
    30_000,
  );
  // The process role's candles (with VWAP) reach serve's live channel over the signals topic (tickflow.signals).
  await waitFor(
    'a processor candle over SSE',
    async () => {
      const { value } = await reader.read();
      text += new TextDecoder().decode(value);
      return /"type":"candle"[^}]*"source":"processor"|"source":"processor"[^}]*"type":"candle"/.test(text);
    },
    40_000,
  );

  await waitFor(
    'stored trades served',
    async () => {
      const res = await fetch(`${api}/api/trades?symbol=BTCUSDT&limit=5`);
      const body = (await res.json()) as { trades?: unknown[] };
      return res.status === 200 && (body.trades?.length ?? 0) === 5;
    },
    30_000,
  );
  await waitFor(
    'candles written by the process role served',
    async () => {
      const res = await fetch(`${api}/api/candles?symbol=ETHUSDT&interval=1m`);
      const body = (await res.json()) as { candles: { tradeCount: number }[] };
      return body.candles.length >= 1 && body.candles.some((c) => c.tradeCount > 0);
    },
    40_000,
  );
  const ready = await fetch(`${api}/ready`);
  assert.equal(ready.status, 200, await ready.text());
  const bad = await fetch(`${api}/api/candles?symbol=ETHUSDT&interval=7m`);
  assert.equal(bad.status, 400);
  assert.equal((await fetch(`${api}/api/candles?symbol=NOPEUSDT&interval=1m`)).status, 404);
});
