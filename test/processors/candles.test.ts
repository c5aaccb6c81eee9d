import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import type { TradeEvent } from '../../src/core/events.js';
import { exchangeTime } from '../../src/core/events.js';
import { sharedData } from '../support/data.js';
import { freqtradeAggTrades, recordedEvents } from '../support/recordings.js';
import { processorOptions, runToEnd } from './support.js';

const MINUTE = 60_000;

function officialExcerpt(dir: string): Map<number, string[]> {
  const name = readdirSync(dir).find((f) => f.startsWith('BTCUSDT-1m-2024-08.EXCERPT'));
  assert.ok(name, `no official kline excerpt in ${dir}`);
  const rows = new Map<number, string[]>();
  for (const line of readFileSync(join(dir, name), 'utf8').split('\n')) {
    const cells = line.trim().split(',');
    if (/^\d+$/.test(cells[0] ?? '')) rows.set(Number(cells[0]), cells);
  }
  return rows;
}

test('USD-M 1m candles equal the official klines in all nine fields for every completely recorded minute', async (t) => {
  const recording = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (!recording) return;
  const official = officialExcerpt(join(dirname(recording), '..', 'official-klines'));
  const events = await recordedEvents(recording, 'usdm');
  const image = runToEnd(processorOptions({ candleIntervals: ['1m'] }), events);

  // The recording covers a minute completely when its frames span the whole minute (exchange time).
  const times = events.map(exchangeTime);
  const first = Math.min(...times);
  const last = Math.max(...times);
  const candles = image.of('candles').filter((c) => c.interval === '1m');
  const covered = candles.filter((c) => c.windowStart >= first && c.windowEnd <= last);
  assert.ok(covered.length >= 5, `expected at least 5 covered minutes, got ${covered.length}`);
  for (const c of covered) {
    const row = official.get(c.windowStart);
    assert.ok(row, `official row for ${new Date(c.windowStart).toISOString()}`);
    const [, open, high, low, close, volume, , quoteVolume, count, takerBuyVolume, takerBuyQuoteVolume] = row;
    // Strings compared as written: the exchange's scale is kept from the wire to the row.
    assert.deepEqual(
      [c.open, c.high, c.low, c.close, c.volume, c.quoteVolume, String(c.tradeCount), c.takerBuyVolume, c.takerBuyQuoteVolume],
      [open, high, low, close, volume, quoteVolume, count, takerBuyVolume, takerBuyQuoteVolume],
      `minute ${new Date(c.windowStart).toISOString()}`,
    );
    assert.equal(c.isFinal, true);
  }
  // Partly recorded minutes are never claimed complete: the first one started before the recording.
  const partial = candles.filter((c) => c.windowStart < first || c.windowEnd > last);
  assert.ok(partial.length >= 1);
  for (const c of partial) assert.equal(c.isComplete, false, `${new Date(c.windowStart).toISOString()} claimed complete`);
  // Minutes closed by the watermark after an observed predecessor are complete.
  const claimed = candles.filter((c) => c.isComplete).map((c) => c.windowStart);
  assert.ok(claimed.length >= 4);
  for (const start of claimed) assert.ok(start >= first && start + MINUTE <= last);
});

test('USD-M trades carry X=MARKET: every trade event the source emits counts', async (t) => {
  const recording = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (!recording) return;
  const trades = (await recordedEvents(recording, 'usdm')).filter((e): e is TradeEvent => e.type === 'trade');
  const image = runToEnd(processorOptions({ candleIntervals: ['1m'] }), trades);
  const total = image.of('candles').reduce((n, c) => n + c.tradeCount, 0);
  assert.equal(total, trades.length);
});

interface FreqtradeCase {
  readonly file: string;
  readonly interval: '1m' | '5m';
}

for (const { file, interval } of [
  { file: 'XRP_ETH-1m.json', interval: '1m' },
  { file: 'XRP_ETH-5m.json', interval: '5m' },
] as FreqtradeCase[]) {
  test(`freqtrade XRP/ETH aggTrades → ${interval} candles equal ${file} over three days, minutes without trades included`, async (t) => {
    const tradesPath = sharedData(t, 'freqtrade-xrpeth', 'XRP_OLD-trades.json.gz');
    const candlesPath = sharedData(t, 'freqtrade-xrpeth', file);
    if (!tradesPath || !candlesPath) return;
    const expected = JSON.parse(readFileSync(candlesPath, 'utf8')) as [number, number, number, number, number, number][];
    const trades = await freqtradeAggTrades(tradesPath, 'XRPETH');
    const image = runToEnd(processorOptions({ candleIntervals: [interval], tradeStream: 'aggTrade' }), trades);
    const mine = new Map(image.of('candles').map((c) => [c.windowStart, c]));
    assert.equal(mine.size, expected.length);
    let empty = 0;
    for (const [openTime, ...values] of expected) {
      const c = mine.get(openTime);
      assert.ok(c, `candle ${new Date(openTime).toISOString()}`);
      // The files hold floats: parse each exact decimal string with Number() and require the
      // same double (the nearest double to the decimal, as the file's writer produced it).
      assert.deepEqual([c.open, c.high, c.low, c.close, c.volume].map(Number), values, `candle ${new Date(openTime).toISOString()}`);
      assert.equal(c.isFinal, true);
      if (c.tradeCount === 0) {
        empty += 1;
        assert.equal(c.firstTradeId, -1);
        assert.equal(c.vwap, null);
      }
    }
    if (interval === '1m') assert.equal(empty, 1091);
  });
}

test('a trade cut out of the recording (a gap) makes its minute incomplete, the others stay complete', async (t) => {
  const recording = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  if (!recording) return;
  const trades = (await recordedEvents(recording, 'usdm')).filter((e): e is TradeEvent => e.type === 'trade');
  const cutAt = trades.findIndex((e) => e.tradeTime >= 1723161450000); // 23:57:30
  const cut = trades[cutAt] as TradeEvent;
  const minute = Math.floor(cut.tradeTime / MINUTE) * MINUTE;
  const full = runToEnd(processorOptions({ candleIntervals: ['1m'] }), trades).of('candles');
  const gapped = runToEnd(
    processorOptions({ candleIntervals: ['1m'] }),
    trades.filter((_, i) => i !== cutAt),
  ).of('candles');
  const complete = (rows: typeof full) => new Map(rows.map((c) => [c.windowStart, c.isComplete]));
  assert.equal(complete(full).get(minute), true);
  assert.equal(complete(gapped).get(minute), false);
  for (const [start, isComplete] of complete(full)) if (start !== minute) assert.equal(complete(gapped).get(start), isComplete);
});
