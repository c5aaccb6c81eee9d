import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configSchema, type ConfigInput } from '../../../src/config/schema.js';
import type { DeadLetterEvent, GapEvent, MarketEvent, PipelineEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics, type Metrics } from '../../../src/ops/metrics.js';
import { FrameHandler, frameRulesFor } from '../../../src/sources/binance/frame-handler.js';

/** Receive time of the frames below (epoch µs): the recording's clock, 1.27 s behind the exchange. */
const AT = 1_723_161_254_087_896;

function handler(source: NonNullable<ConfigInput['source']> = {}): { frames: FrameHandler; metrics: Metrics } {
  const config = configSchema.parse({ source: { symbols: ['BTCUSDT', 'ETHUSDT'], ...source } }).source;
  const metrics = createMetrics();
  const frames = new FrameHandler({ ...frameRulesFor(config), origin: 'test', gapGraceMs: 1_000, logger: silentLogger(), metrics });
  return { frames, metrics };
}

function run(frames: FrameHandler, raws: readonly string[], at = AT): PipelineEvent[] {
  const out: PipelineEvent[] = [];
  for (const raw of raws) frames.handle(raw, at, null, out);
  return out;
}

const deadLetters = (out: readonly PipelineEvent[]) => out.filter((e): e is DeadLetterEvent => e.type === 'deadLetter');
const gaps = (out: readonly PipelineEvent[]) => out.filter((e): e is GapEvent => e.type === 'gap');
const records = (out: readonly PipelineEvent[], type: MarketEvent['type']) => out.filter((e): e is MarketEvent => e.type === type);

async function counter(metrics: Metrics, name: string, labels: Record<string, string>): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((m) => m.name === name);
  const value = metric?.values.find((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return Number(value?.value ?? 0);
}

// Payloads in the shape of ../shared/data/binance-spot-ws and binance-usdm-ws.
const spotBook = (u: number, b = '61837.63000000') =>
  `{"stream":"btcusdt@bookTicker","data":{"u":${u},"s":"BTCUSDT","b":"${b}","B":"3.78826000","a":"61837.64000000","A":"1.54698000"}}`;
const usdmBook = (u: number) =>
  `{"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":${u},"s":"BTCUSDT","b":"61800.20","B":"2.507","a":"61800.30","A":"2.510","T":1723161256313,"E":1723161256313}}`;
const spotDepth = (first: number, final: number, symbol = 'BTCUSDT') =>
  `{"stream":"${symbol.toLowerCase()}@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"${symbol}","U":${first},"u":${final},"b":[["55653.87000000","0.00000000"]],"a":[["61838.04000000","0.32332000"]]}}`;
const usdmDepth = (first: number, final: number, prev: number) =>
  `{"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1723161256299,"T":1723161256298,"s":"BTCUSDT","U":${first},"u":${final},"pu":${prev},"b":[["58710.20","0.014"]],"a":[["61800.30","3.330"]]}}`;
const spotTrade = (fields: { t?: number; p?: string; q?: string; s?: string; stream?: string; E?: number; T?: number } = {}) =>
  `{"stream":"${fields.stream ?? 'btcusdt@trade'}","data":{"e":"trade","E":${fields.E ?? 1723161255343},"s":"${fields.s ?? 'BTCUSDT'}","t":${fields.t ?? 3735683259},"p":"${fields.p ?? '61837.63000000'}","q":"${fields.q ?? '0.02000000'}","T":${fields.T ?? 1723161255342},"m":true,"M":true}}`;

test('kind 6 (duplicates of the other streams): bookTicker and depth delivered twice are kept once per symbol, spot and USD-M', async () => {
  const spot = handler();
  // Spot bookTicker has no event time: the second copy differs only in receive time.
  const out = run(spot.frames, [spotBook(50093239212), spotBook(50093239219), spotBook(50093239212), spotBook(50093239219, '61837.62000000')]);
  out.push(...run(spot.frames, [spotBook(50093239219)], AT + 1_000));
  assert.deepEqual(
    records(out, 'bookTicker').map((e) => e.type === 'bookTicker' && e.updateId),
    [50093239212, 50093239219],
  );
  // depth: the same final update id twice is one update; the other symbol's same id is its own.
  const depth = run(spot.frames, [spotDepth(50093239189, 50093239202), spotDepth(50093239189, 50093239202), spotDepth(50093239189, 50093239202, 'ETHUSDT')]);
  assert.deepEqual(
    records(depth, 'depth').map((e) => e.symbol),
    ['BTCUSDT', 'ETHUSDT'],
  );
  assert.equal(spot.frames.counts().duplicates, 4);
  assert.equal(await counter(spot.metrics, 'tickflow_duplicates_dropped_total', { stream: 'bookTicker' }), 3);
  assert.equal(await counter(spot.metrics, 'tickflow_duplicates_dropped_total', { stream: 'depth' }), 1);

  const usdm = handler({ market: 'usdm' });
  const futures = run(usdm.frames, [
    usdmBook(5123107839020),
    usdmBook(5123107839020),
    usdmDepth(5123107832006, 5123107837557, 5123107831937),
    usdmDepth(5123107832006, 5123107837557, 5123107831937),
  ]);
  assert.equal(records(futures, 'bookTicker').length, 1);
  assert.equal(records(futures, 'depth').length, 1);
  // A late update that was never delivered (reordered, not a copy) is kept.
  assert.equal(records(run(spot.frames, [spotBook(50093239215)]), 'bookTicker').length, 1);
});

test('kind 7 (depth sequence breaks): a lost diff-depth update is a depth gap with its id bounds, counted and logged', async () => {
  const spot = handler();
  const out = run(spot.frames, [
    spotDepth(50093239189, 50093239202),
    spotDepth(50093239203, 50093239207), // U = previous u + 1: connected
    spotDepth(50093239225, 50093239230), // 50093239208..50093239224 lost
    spotDepth(50093239226, 50093239240), // overlaps the previous one: no break
    spotDepth(50093239189, 50093239202, 'ETHUSDT'), // another symbol's sequence
  ]);
  assert.deepEqual(
    gaps(out).map((g) => [g.symbol, g.stream, g.firstMissingId, g.lastMissingId, g.reason]),
    [['BTCUSDT', 'depth', 50093239208, 50093239224, 'sequence']],
  );
  assert.equal(records(out, 'depth').length, 5, 'the update after the break is still stored');
  assert.equal(await counter(spot.metrics, 'tickflow_gaps_detected_total', { symbol: 'BTCUSDT', stream: 'depth' }), 1);
  assert.equal(await counter(spot.metrics, 'tickflow_gap_missing_ids_total', { symbol: 'BTCUSDT', stream: 'depth' }), 17);

  // USD-M: pu must equal the previous u; U/u of consecutive events are not contiguous.
  const usdm = handler({ market: 'usdm' });
  const futures = run(usdm.frames, [
    usdmDepth(5123107832006, 5123107837557, 5123107831937),
    usdmDepth(5123107837600, 5123107837700, 5123107837557), // connected
    usdmDepth(5123107837900, 5123107838000, 5123107837800), // the event that ended at 5123107837800 was lost
  ]);
  assert.deepEqual(
    gaps(futures).map((g) => [g.stream, g.firstMissingId, g.lastMissingId]),
    [['depth', 5123107837701, 5123107837800]],
  );
});

test('kind 10 (payload against stream): symbol mismatch, unconfigured symbol, zero quantity and price are dead letters with reasons', async () => {
  const { frames, metrics } = handler();
  const out = run(frames, [
    spotTrade({ s: 'ETHUSDT' }), // data.s differs from the stream's symbol
    spotTrade({ stream: 'solusdt@trade', s: 'SOLUSDT' }), // not in source.symbols
    spotTrade({ q: '0.00000000' }),
    spotTrade({ p: '0.00000000' }),
    spotBook(1).replace('"s":"BTCUSDT"', '"s":"btcusdt"'),
    spotTrade(),
  ]);
  assert.deepEqual(
    deadLetters(out).map((d) => d.reason),
    ['symbol_mismatch', 'unconfigured_symbol', 'zero_quantity', 'zero_price', 'symbol_mismatch'],
  );
  assert.match(deadLetters(out)[0]!.detail, /btcusdt@trade: "s" is ETHUSDT/);
  assert.equal(records(out, 'trade').length, 1);
  assert.equal(await counter(metrics, 'tickflow_dead_letters_total', { origin: 'test', reason: 'zero_quantity' }), 1);
});

test('kind 10 (payload against stream): identical bad frames in the same millisecond are each a dead letter of their own', () => {
  const { frames } = handler();
  const out = run(
    frames,
    Array.from({ length: 20 }, () => '{"stream":"btcusdt@trade","data":{"e":"tra'),
  );
  const letters = deadLetters(out);
  assert.equal(letters.length, 20);
  assert.equal(new Set(letters.map((d) => `${d.reason}|${d.raw}|${d.receivedAt}|${d.seq}`)).size, 20);
});

test('kind 3 (microsecond times): an exchange time implausibly far from the receive time is a dead letter, in either unit', () => {
  const ms = handler();
  const out = run(ms.frames, [
    spotTrade({ T: 1723161255342999, E: 1723161255343123 }), // µs read as ms: year 56574
    spotTrade({ T: 0 }),
    spotTrade({ T: 1723161254087 - 86_400_001 }), // a day and a millisecond before the receive time
    spotTrade({ t: 3735683260, T: 1723161254087 - 86_399_000 }), // within a day: plausible
  ]);
  assert.deepEqual(
    deadLetters(out).map((d) => d.reason),
    ['implausible_time', 'implausible_time', 'implausible_time'],
  );
  assert.match(deadLetters(out)[0]!.detail, /"T" 1723161255342999 ms is .* s from the receive time \(source.maxClockSkewMs 86400000\)/);
  assert.equal(records(out, 'trade').length, 1);

  // The bound is configurable, and a microsecond stream is compared in milliseconds too.
  const tight = handler({ maxClockSkewMs: 1_000 });
  assert.deepEqual(
    deadLetters(run(tight.frames, [spotTrade({ T: 1723161254087 - 2_000 })])).map((d) => d.reason),
    ['implausible_time'],
  );
  const micros = handler({ timeUnit: 'MICROSECOND' });
  const ok = run(micros.frames, [spotTrade({ T: 1723161255342999, E: 1723161255343123 }), spotTrade({ t: 3735683260, T: 1723161255342, E: 1723161255343 })]);
  assert.equal(records(ok, 'trade').length, 1);
  assert.deepEqual(
    deadLetters(ok).map((d) => d.reason),
    ['implausible_time'],
  );
});

test('kinds 6, 7, 10 fuzz: random bookTicker, depth and trade frames cost bounded work and memory', () => {
  const { frames } = handler({ market: 'usdm' });
  let seed = 12345;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const symbols = ['BTCUSDT', 'ETHUSDT', 'XRPUSDT'];
  const before = process.memoryUsage().heapUsed;
  let produced = 0;
  const N = 60_000;
  for (let i = 0; i < N; i++) {
    const symbol = symbols[rand(3)]!;
    const id = rand(5) === 0 ? rand(2 ** 31) * 2 ** 20 : 5_000_000 + rand(100_000);
    const kind = rand(4);
    const raw =
      kind === 0
        ? usdmBook(id)
            .replace(/BTCUSDT/g, symbol)
            .replace('btcusdt', symbol.toLowerCase())
        : kind === 1
          ? usdmDepth(id, id + rand(1000), id - rand(1000))
              .replace(/BTCUSDT/g, symbol)
              .replace('btcusdt', symbol.toLowerCase())
          : kind === 2
            ? spotTrade({ t: id, q: rand(10) === 0 ? '0' : '1.5', p: `${rand(10 ** 6)}.${rand(100)}`, T: 1723161255342 + (rand(3) - 1) * rand(2 ** 40) })
            : JSON.stringify({ stream: `${symbol.toLowerCase()}@depth@0ms`, data: { e: 'depthUpdate', E: rand(2 ** 45), s: symbol, U: id, u: -id, pu: 'x' } });
    const out: PipelineEvent[] = [];
    frames.handle(raw, AT, null, out);
    // One frame yields at most the record and one gap: no input-driven loop.
    assert.ok(out.length <= 2, `${out.length}: ${raw}`);
    produced += out.length;
  }
  const out: PipelineEvent[] = [];
  frames.dueGaps(Number.MAX_SAFE_INTEGER, out);
  // Every frame is accounted for: a record, a dead letter or a counted duplicate — nothing vanishes.
  const c = frames.counts();
  assert.equal(c.events + c.deadLetters + c.duplicates, N);
  assert.equal(produced + out.length, c.events + c.deadLetters + c.gaps);
  // Remembered update ids are bounded per (symbol, stream), whatever the ids.
  assert.ok(process.memoryUsage().heapUsed - before < 150 * 1024 * 1024);
});
