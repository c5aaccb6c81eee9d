import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CoreInput } from '../../src/processors/processor-core.js';
import { ProcessorCore } from '../../src/processors/processor-core.js';
import { processorOptions, quote, trade } from './support.js';

const NOW = 1_723_161_600_000;
const MIN = 60_000;

/** A small deterministic PRNG (mulberry32), so a failing fuzz run can be repeated from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Times a feed can carry by mistake: 0, 2^53, µs instead of ms, negative, fractional, far future, and plausible ones. */
function randomTime(r: () => number): number {
  const pick = Math.floor(r() * 10);
  switch (pick) {
    case 0:
      return 0;
    case 1:
      return 2 ** 53;
    case 2:
      return NOW * 1000 + Math.floor(r() * 1e6);
    case 3:
      return -Math.floor(r() * 1e12);
    case 4:
      return NOW + r();
    case 5:
      return Math.floor(r() * 2 ** 52);
    default:
      return NOW + Math.floor(r() * 30 * MIN);
  }
}

const randomDecimal = (r: () => number): string =>
  ['0', '1e5', '-3', '0.00000001', `${Math.floor(r() * 1e9)}.${Math.floor(r() * 1e8)}`, '99999999999999999999.99999999'][Math.floor(r() * 6)] as string;

test('one bad event never causes unbounded work: a trade at time 0, then one at 2^53, then today', () => {
  const core = new ProcessorCore(processorOptions({ candleIntervals: ['1m', '1h'], maxFillWindows: 100 }));
  const at = (offset: number, event: CoreInput['event']): CoreInput => ({ source: 'trades/0', offset: BigInt(offset), event });
  const result = core.ingest([
    at(0, trade(1, 0, '10', '1')),
    at(1, trade(2, 2 ** 53, '10', '1')),
    at(2, trade(3, NOW, '10', '1')),
    at(3, trade(4, NOW + 2 * MIN, '10', '1')),
  ]);
  // 2^53 ms is no time a row can hold: skipped and counted, it does not become the watermark.
  assert.deepEqual(
    result.rejected.map((r) => r.offset),
    [1n],
  );
  const candles = result.upserts.flatMap((u) => (u.table === 'candles' ? [u.row] : []));
  // 1970's minute and hour, then at most 100 empty windows per interval before today's.
  assert.ok(candles.length <= 2 * (100 + 2), `${candles.length} candle rows`);
  const rows = [...result.upserts, ...core.finish()].flatMap((u) => (u.table === 'candles' && u.row.interval === '1m' ? [u.row] : []));
  assert.deepEqual(
    rows.filter((r) => r.tradeCount > 0).map((r) => r.windowStart),
    [0, NOW, NOW + 2 * MIN],
  );
  assert.equal(rows.filter((r) => r.tradeCount === 0 && r.windowStart < NOW - 100 * MIN).length, 0);
});

test('one bad event never causes unbounded work: fuzz of random times, ids and values stays bounded in rows and memory', () => {
  const maxFillWindows = 60;
  const intervals = ['1m', '5m'] as const;
  const core = new ProcessorCore(processorOptions({ candleIntervals: [...intervals], maxFillWindows, spreadWindowMs: 30_000 }));
  const r = prng(9);
  const before = process.memoryUsage().heapUsed;
  const events = 4_000;
  let upserts = 0;
  let rejected = 0;
  for (let batch = 0; batch < events / 100; batch++) {
    const inputs: CoreInput[] = [];
    for (let i = 0; i < 100; i++) {
      const n = batch * 100 + i;
      const symbol = ['AAA', 'BBB', 'CCC'][Math.floor(r() * 3)] as string;
      const id = Math.floor(r() * 2 ** 40);
      const event =
        r() < 0.8
          ? trade(id, randomTime(r), randomDecimal(r), randomDecimal(r), r() < 0.5, symbol)
          : quote(id, randomTime(r), randomDecimal(r), randomDecimal(r), symbol);
      inputs.push({ source: r() < 0.8 ? 'trades/0' : 'bookTicker/0', offset: BigInt(n), event });
    }
    const result = core.ingest(inputs);
    upserts += result.upserts.length;
    rejected += result.rejected.length;
    if (batch % 10 === 0) upserts += core.partials().length;
  }
  upserts += core.finish().length;
  // Each event opens or closes at most one window per kind, and each close fills at most maxFillWindows.
  const kinds = intervals.length + 2;
  assert.ok(upserts <= events * kinds * (maxFillWindows + 3), `${upserts} upserts for ${events} events`);
  assert.ok(rejected > 0, 'the fuzz produced unusable events');
  const grownMb = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  assert.ok(grownMb < 512, `heap grew ${grownMb.toFixed(0)} MB`);
});
