import assert from 'node:assert/strict';
import { createReadStream, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { createGunzip } from 'node:zlib';
import { LiveCandles } from '../../src/api/live-candles.js';
import type { LiveCandle } from '../../src/api/live-messages.js';
import { formatDecimal, parseDecimal, trim } from '../../src/core/decimal.js';
import { parseFrame } from '../../src/sources/binance/parse.js';
import { sharedData } from '../support/data.js';

const canonical = (d: string) => formatDecimal(trim(parseDecimal(d)));

test('live 1m candles from the recorded USD-M trades equal the official klines for every complete minute', async (t) => {
  const recording = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  const official = sharedData(t, 'official-klines', 'BTCUSDT-1m-2024-08.EXCERPT_2024-08-08T2331_2024-08-09T0019.csv');
  if (!recording || !official) return;

  const candles = new LiveCandles(['1m']);
  const lastVersion = new Map<number, LiveCandle>();
  const lines = createInterface({ input: createReadStream(recording).pipe(createGunzip()) });
  for await (const line of lines) {
    const json = line.slice(line.indexOf(' ') + 1);
    if (!json.includes('@trade"')) continue;
    const parsed = parseFrame(json, 'usdm', 0);
    if (parsed.ok !== true || parsed.event.type !== 'trade') continue;
    const e = parsed.event;
    for (const c of candles.apply({ exchange: e.exchange, market: e.market, symbol: e.symbol, price: e.price, quantity: e.quantity, time: e.tradeTime })) lastVersion.set(c.time, c);
  }

  const rows = readFileSync(official, 'utf8').trim().split('\n').slice(1).map((l) => l.split(','));
  const byOpen = new Map(rows.map((r) => [Number(r[0]), r]));
  const minutes = [...lastVersion.keys()].sort((a, b) => a - b);
  assert.ok(minutes.length >= 6, `expected several minutes, got ${minutes.length}`);
  // The first minute began before the recording; the last one ended after it.
  assert.equal(lastVersion.get(minutes[0] as number)?.partial, true);
  const complete = minutes.slice(1, -1);
  for (const time of complete) {
    const live = lastVersion.get(time) as LiveCandle;
    const row = byOpen.get(time);
    assert.ok(row, `official kline for ${new Date(time).toISOString()}`);
    const [, open, high, low, close, volume, , , count] = row;
    assert.equal(live.partial, false);
    // Equal as exact decimals: trailing zeros may differ (the official file pads to the step).
    assert.deepEqual(
      [live.open, live.high, live.low, live.close, canonical(live.volume), live.tradeCount],
      [open, high, low, close, canonical(volume as string), Number(count)],
      new Date(time).toISOString(),
    );
  }
  assert.ok(complete.length >= 4, `complete minutes checked: ${complete.length}`);
});

const X = { exchange: 'binance', market: 'spot', symbol: 'X' };

test('a trade older than the forming window is ignored; an older trade inside it does not move the close', () => {
  const candles = new LiveCandles(['1m']);
  const t0 = 1_723_161_600_000;
  candles.apply({ ...X, price: '10', quantity: '1', time: t0 + 5_000 });
  candles.apply({ ...X, price: '12', quantity: '1', time: t0 + 61_000 });
  assert.deepEqual(candles.apply({ ...X, price: '99', quantity: '1', time: t0 + 59_000 }), []);
  const [c] = candles.apply({ ...X, price: '11.5', quantity: '0.25', time: t0 + 60_500 });
  assert.deepEqual(
    c && [c.time, c.open, c.high, c.low, c.close, c.volume, c.tradeCount, c.partial],
    [t0 + 60_000, '12', '12', '11.5', '12', '1.25', 2, false],
  );
  candles.reset(X);
  assert.equal(candles.apply({ ...X, price: '13', quantity: '1', time: t0 + 62_000 })[0]?.partial, true);
});
