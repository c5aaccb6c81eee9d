import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LiveCandles } from '../../src/api/live-candles.js';
import type { LiveCandle } from '../../src/api/contract.js';
import type { TradeEvent } from '../../src/core/events.js';
import type { CandleRow } from '../../src/processors/candles.js';
import { formatDecimal, parseDecimal, trim } from '../../src/core/decimal.js';
import { ProcessorCore } from '../../src/processors/processor-core.js';
import { tradeInput } from '../../src/processors/trade-input.js';
import { sharedData } from '../support/data.js';
import { recordedEvents } from '../support/recordings.js';
import { asInputs, processorOptions } from '../processors/support.js';

const canonical = (d: string) => formatDecimal(trim(parseDecimal(d)));

test('live 1m candles from the recorded USD-M trades equal the official klines for every complete minute', async (t) => {
  const recording = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  const official = sharedData(t, 'official-klines', 'BTCUSDT-1m-2024-08.EXCERPT_2024-08-08T2331_2024-08-09T0019.csv');
  if (!recording || !official) return;

  const candles = new LiveCandles(['1m']);
  const lastVersion = new Map<number, LiveCandle>();
  for (const e of await recordedEvents(recording, 'usdm')) {
    if (e.type === 'trade') for (const c of candles.apply(tradeInput(e))) lastVersion.set(c.time, c);
  }

  const rows = readFileSync(official, 'utf8')
    .trim()
    .split('\n')
    .slice(1)
    .map((l) => l.split(','));
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
const at = (id: number, price: string, quantity: string, time: number) =>
  tradeInput({ type: 'trade', ...X, eventTime: time, ingestionTimestamp: time * 1000, tradeId: id, price, quantity, tradeTime: time, buyerIsMaker: false });

test('a trade older than the forming window is ignored; open and close follow trade ids, not arrival', () => {
  const candles = new LiveCandles(['1m']);
  const t0 = 1_723_161_600_000;
  candles.apply(at(1, '10', '1', t0 + 5_000));
  candles.apply(at(11, '12', '1', t0 + 61_000));
  assert.deepEqual(candles.apply(at(9, '99', '1', t0 + 59_000)), []);
  // Arrives after id 11 but was traded before it (a reordered frame): it opens the candle, the close stays.
  const [c] = candles.apply(at(10, '11.5', '0.25', t0 + 60_500));
  assert.deepEqual(c && [c.time, c.open, c.high, c.low, c.close, c.volume, c.tradeCount, c.partial], [
    t0 + 60_000,
    '11.5',
    '12',
    '11.5',
    '12',
    '1.25',
    2,
    false,
  ]);
  candles.reset(X);
  assert.equal(candles.apply(at(12, '13', '1', t0 + 62_000))[0]?.partial, true);
});

test("the live candle and the processor's candle agree trade for trade on a replayed recording", async (t) => {
  const recording = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (!recording) return;
  const trades = (await recordedEvents(recording, 'spot')).filter((e): e is TradeEvent => e.type === 'trade');
  assert.ok(trades.length > 1_000, `trades in the recording: ${trades.length}`);
  const core = new ProcessorCore(processorOptions({ candleIntervals: ['1m', '5m'] }));
  const live = new LiveCandles(['1m', '5m']);
  const key = (c: { interval: string; time: number }) => `${c.interval}@${c.time}`;
  let compared = 0;
  for (const input of asInputs(trades)) {
    const rows = new Map<string, CandleRow>();
    const result = core.ingest([input]);
    for (const u of [...result.upserts, ...core.partials()])
      if (u.table === 'candles') rows.set(key({ interval: u.row.interval, time: u.row.windowStart }), u.row);
    for (const c of live.apply(tradeInput(input.event as TradeEvent))) {
      const row = rows.get(key(c));
      assert.ok(row, `processor row for ${key(c)} after trade ${(input.event as TradeEvent).tradeId}`);
      // The first window of the feed is partial on both sides (the recording starts inside it): they still agree.
      assert.deepEqual(
        [c.open, c.high, c.low, c.close, c.volume, c.tradeCount],
        [row.open, row.high, row.low, row.close, row.volume, row.tradeCount],
        `${key(c)} after trade ${(input.event as TradeEvent).tradeId}`,
      );
      compared += 1;
    }
  }
  assert.equal(compared, trades.length * 2);
});
