import assert from 'node:assert/strict';
import { test } from 'node:test';
import { GapDetector } from '../../../src/sources/binance/gaps.js';
import { parseFrame } from '../../../src/sources/binance/parse.js';
import { sharedData } from '../../support/data.js';
import { receivedMicros, recordedFrames } from '../../support/recordings.js';

const GRACE = 1_000;

function detector(): GapDetector {
  return new GapDetector({ market: 'spot', graceMs: GRACE });
}

test('a skipped id is reported with exact bounds once the grace period has passed', () => {
  const d = detector();
  for (const id of [100, 101, 102]) assert.equal(d.observe('BTCUSDT', 'trade', id, 0, 'sequence'), 'accept');
  assert.equal(d.observe('BTCUSDT', 'trade', 106, 10, 'reconnect'), 'accept');
  assert.deepEqual(d.due(10 + GRACE - 1), [], 'not before the grace period');
  assert.deepEqual(d.due(10 + GRACE), [
    {
      type: 'gap',
      exchange: 'binance',
      market: 'spot',
      symbol: 'BTCUSDT',
      stream: 'trade',
      firstMissingId: 103,
      lastMissingId: 105,
      detectedAt: 10,
      reason: 'reconnect',
    },
  ]);
  assert.deepEqual(d.due(10_000), [], 'reported once');
});

test('a reordered id that arrives late fills its hole: no false gap', () => {
  const d = detector();
  for (const id of [1, 2, 4, 3, 5, 7, 8, 6]) assert.equal(d.observe('ETHUSDT', 'aggTrade', id, 0, 'sequence'), 'accept', `id ${id}`);
  assert.equal(d.openHoles(), 0);
  assert.deepEqual(d.due(60_000), []);
});

test('a late id inside a wide hole splits it; the rest is still reported exactly', () => {
  const d = detector();
  d.observe('BTCUSDT', 'trade', 10, 0, 'sequence');
  d.observe('BTCUSDT', 'trade', 20, 0, 'rotation'); // hole 11..19
  d.observe('BTCUSDT', 'trade', 15, 5, 'sequence');
  d.observe('BTCUSDT', 'trade', 11, 5, 'sequence');
  d.observe('BTCUSDT', 'trade', 19, 5, 'sequence');
  const gaps = d.due(GRACE).map((g) => [g.firstMissingId, g.lastMissingId, g.reason]);
  assert.deepEqual(gaps, [
    [12, 14, 'rotation'],
    [16, 18, 'rotation'],
  ]);
});

test('duplicates are dropped, ids are tracked per symbol and stream', () => {
  const d = detector();
  assert.equal(d.observe('BTCUSDT', 'trade', 50, 0, 'sequence'), 'accept');
  assert.equal(d.observe('BTCUSDT', 'trade', 51, 0, 'sequence'), 'accept');
  assert.equal(d.observe('BTCUSDT', 'trade', 51, 0, 'sequence'), 'duplicate');
  assert.equal(d.observe('BTCUSDT', 'trade', 50, 0, 'sequence'), 'duplicate');
  assert.equal(d.observe('BTCUSDT', 'aggTrade', 51, 0, 'sequence'), 'accept');
  assert.equal(d.observe('ETHUSDT', 'trade', 7, 0, 'sequence'), 'accept');
  assert.equal(d.observe('ETHUSDT', 'trade', 7, 0, 'sequence'), 'duplicate');
  assert.deepEqual(d.due(60_000), []);
});

test('an id that arrives after its gap was reported is still accepted once, then a duplicate', () => {
  const d = detector();
  d.observe('BTCUSDT', 'trade', 1, 0, 'sequence');
  d.observe('BTCUSDT', 'trade', 3, 0, 'sequence');
  assert.equal(d.due(GRACE).length, 1);
  assert.equal(d.observe('BTCUSDT', 'trade', 2, GRACE + 1, 'sequence'), 'accept');
  assert.equal(d.observe('BTCUSDT', 'trade', 2, GRACE + 2, 'sequence'), 'duplicate');
});

test('real spot trades: contiguous, and one line cut out is found exactly', async (t) => {
  const path = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (!path) return;
  const ids: number[] = [];
  for (const f of await recordedFrames(path)) {
    const r = parseFrame(f.raw, 'spot', receivedMicros(f));
    if (r.ok === true && r.event.type === 'trade') ids.push(r.event.tradeId);
  }
  const whole = detector();
  for (const id of ids) assert.equal(whole.observe('BTCUSDT', 'trade', id, 0, 'sequence'), 'accept');
  assert.deepEqual(whole.due(60_000), [], 'the recording has no gaps');

  const cut = detector();
  const missing = ids[5000]!;
  for (const id of ids) if (id !== missing) cut.observe('BTCUSDT', 'trade', id, 0, 'sequence');
  const gaps = cut.due(60_000);
  assert.deepEqual(
    gaps.map((g) => [g.firstMissingId, g.lastMissingId]),
    [[missing, missing]],
  );
});

test('gaps across restarts: resumed from the last stored id, the ids up to the first one received are a restart gap', () => {
  const d = detector();
  d.resume({ symbol: 'BTCUSDT', stream: 'aggTrade', lastId: 5_000 });
  d.resume({ symbol: 'ETHUSDT', stream: 'trade', lastId: 700 });
  // The first frames on the new connection: BTC skipped 5 001..5 499, ETH continues where it was stored.
  assert.equal(d.observe('BTCUSDT', 'aggTrade', 5_500, 0, 'sequence'), 'accept');
  assert.equal(d.observe('ETHUSDT', 'trade', 701, 0, 'sequence'), 'accept');
  // An id already stored is a duplicate; a later hole is an ordinary sequence gap.
  assert.equal(d.observe('BTCUSDT', 'aggTrade', 4_999, 1, 'sequence'), 'duplicate');
  assert.equal(d.observe('ETHUSDT', 'trade', 703, 1, 'sequence'), 'accept');
  const gaps = d.due(GRACE + 1).map((g) => [g.symbol, g.stream, g.firstMissingId, g.lastMissingId, g.reason]);
  assert.deepEqual(gaps, [
    ['BTCUSDT', 'aggTrade', 5_001, 5_499, 'restart'],
    ['ETHUSDT', 'trade', 702, 702, 'sequence'],
  ]);
});
