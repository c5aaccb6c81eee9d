import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { BookTickerEvent, DepthEvent, Market, PipelineEvent } from '../../src/core/events.js';
import { BookKeeper } from '../../src/book/book-keeper.js';
import { LocalBook } from '../../src/book/local-book.js';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { FrameHandler, frameRulesFor } from '../../src/sources/binance/frame-handler.js';
import { parseFrame } from '../../src/sources/binance/parse.js';
import { depthSnapshotFromRest } from '../../src/sources/binance/rest-parse.js';
import { sharedData } from '../support/data.js';
import { receivedMicros, recordedFrames } from '../support/recordings.js';

interface Top {
  readonly bid: string;
  readonly bidQty: string;
  readonly ask: string;
  readonly askQty: string;
}

/**
 * Replays recordings through a LocalBook: depth diffs into the book, the one REST snapshot line
 * (no `stream` key) as its snapshot. Returns the book's top after every applied diff (by its final
 * update id), every bookTicker (by its update id) and the book's outcomes.
 */
async function replay(files: string[], market: Market, symbol: string, skipDepth = -1) {
  const local = new LocalBook({ market, symbol });
  const bookTops = new Map<number, Top>();
  const tickers = new Map<number, Top>();
  const outcomes = new Map<string, number>();
  const count = (k: string) => outcomes.set(k, (outcomes.get(k) ?? 0) + 1);
  let depthSeen = 0;
  for (const file of files) {
    for (const frame of await recordedFrames(file)) {
      if (!frame.raw.startsWith('{"stream"')) {
        const outcome = local.onSnapshot(depthSnapshotFromRest(JSON.parse(frame.raw)));
        count(`snapshot:${typeof outcome === 'object' ? 'break' : outcome}`);
        continue;
      }
      const parsed = parseFrame(frame.raw, market, 0);
      if (parsed.ok !== true) continue;
      const e = parsed.event;
      if (e.type === 'depth') {
        if (depthSeen++ === skipDepth) continue;
        const outcome = local.onDiff(e as DepthEvent);
        count(typeof outcome === 'object' ? 'break' : outcome);
        if (outcome !== 'applied') continue;
        const bid = local.book.bestBid();
        const ask = local.book.bestAsk();
        if (bid !== null && ask !== null) bookTops.set(e.finalUpdateId, { bid: bid.price, bidQty: bid.qty, ask: ask.price, askQty: ask.qty });
      } else if (e.type === 'bookTicker') {
        const b = e as BookTickerEvent;
        tickers.set(b.updateId, { bid: b.bidPrice, bidQty: b.bidQty, ask: b.askPrice, askQty: b.askQty });
      }
    }
  }
  return { bookTops, tickers, outcomes };
}

async function oracle(t: TestContext, market: Market, symbol: string, folder: string, names: string[]) {
  const files = names.map((n) => sharedData(t, folder, n));
  if (files.some((f) => f === undefined)) return;
  const { bookTops, tickers, outcomes } = await replay(files as string[], market, symbol);
  let checked = 0;
  const wrong: string[] = [];
  for (const [u, ticker] of tickers) {
    const top = bookTops.get(u);
    if (top === undefined) continue;
    checked += 1;
    if (JSON.stringify(top) !== JSON.stringify(ticker)) wrong.push(`u=${u}: book ${JSON.stringify(top)} ticker ${JSON.stringify(ticker)}`);
  }
  t.diagnostic(`${symbol} ${market}: ${checked} bookTickers carry a book update id; outcomes ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.deepEqual(wrong.slice(0, 5), [], `${wrong.length} of ${checked} bookTickers differ from the book`);
  assert.ok(checked >= 100, `hundreds of checks expected, got ${checked}`);
  assert.equal(outcomes.get('break') ?? 0, 0, 'the recordings are contiguous: no sequence break');
  assert.equal(outcomes.get('snapshot:live'), 1);
}

test('book oracle, spot BTCUSDT 2024-08-08 → 09: every bookTicker with the book update id equals the best bid/ask', (t) =>
  oracle(t, 'spot', 'BTCUSDT', 'binance-spot-ws', ['btcusdt_20240808.gz', 'btcusdt_20240809.gz']));

test('book oracle, spot ETHUSDT 2024-08-08 → 09: every bookTicker with the book update id equals the best bid/ask', (t) =>
  oracle(t, 'spot', 'ETHUSDT', 'binance-spot-ws', ['ethusdt_20240808.gz', 'ethusdt_20240809.gz']));

test('book oracle, USD-M BTCUSDT 2024-08-08 (depth@0ms, pu chain): every bookTicker with the book update id equals the best bid/ask', (t) =>
  oracle(t, 'usdm', 'BTCUSDT', 'binance-usdm-ws', ['btcusdt_20240808.gz']));

test('book oracle is honest: cutting one depth line out of the recording is a sequence break, not a silent drift', async (t) => {
  const file = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (file === undefined) return;
  const { outcomes } = await replay([file], 'spot', 'BTCUSDT', 500);
  assert.equal(outcomes.get('break'), 1);
});

test('book oracle through the pipeline path: FrameHandler records into BookKeeper (replay mode, recorded snapshot) on every recording', async (t) => {
  const cases = [
    ['spot', 'BTCUSDT', 'binance-spot-ws', 'btcusdt_20240808.gz'],
    ['spot', 'ETHUSDT', 'binance-spot-ws', 'ethusdt_20240808.gz'],
    ['usdm', 'BTCUSDT', 'binance-usdm-ws', 'btcusdt_20240808.gz'],
  ] as const;
  for (const [market, symbol, folder, name] of cases) {
    const file = sharedData(t, folder, name);
    if (file === undefined) return;
    const metrics = createMetrics();
    const config = configSchema.parse({ source: { market, symbols: [symbol] } });
    const frames = new FrameHandler({ ...frameRulesFor(config.source), origin: 'replay', gapGraceMs: 1_000, logger: silentLogger(), metrics });
    const keeper = new BookKeeper({
      exchange: 'binance',
      market,
      symbols: [symbol],
      config: config.book,
      emit: async () => {},
      logger: silentLogger(),
      metrics,
    });
    const tops = new Map<number, Top>();
    const tickers = new Map<number, Top>();
    for (const frame of await recordedFrames(file)) {
      const out: PipelineEvent[] = [];
      frames.handle(frame.raw, receivedMicros(frame), null, out);
      keeper.observe(out);
      for (const e of out) {
        if (e.type === 'bookTicker') tickers.set(e.updateId, { bid: e.bidPrice, bidQty: e.bidQty, ask: e.askPrice, askQty: e.askQty });
        if (e.type !== 'depth') continue;
        const view = keeper.top(symbol, 1);
        const [bid] = view?.bids ?? [];
        const [ask] = view?.asks ?? [];
        if (view?.updateId === e.finalUpdateId && bid && ask) tops.set(e.finalUpdateId, { bid: bid[0], bidQty: bid[1], ask: ask[0], askQty: ask[1] });
      }
    }
    keeper.stop();
    let checked = 0;
    const wrong: string[] = [];
    for (const [u, ticker] of tickers) {
      const top = tops.get(u);
      if (top === undefined) continue;
      checked++;
      if (JSON.stringify(top) !== JSON.stringify(ticker)) wrong.push(`u=${u}`);
    }
    t.diagnostic(`${symbol} ${market} through BookKeeper: ${checked} bookTickers checked`);
    assert.deepEqual(wrong.slice(0, 5), [], `${symbol} ${market}: ${wrong.length} of ${checked} differ`);
    assert.ok(checked >= 100, `${symbol} ${market}: hundreds of checks expected, got ${checked}`);
    const breaks = (await metrics.registry.getSingleMetric('tickflow_book_sequence_breaks_total')?.get())?.values ?? [];
    assert.equal(
      breaks.reduce((n, v) => n + v.value, 0),
      0,
    );
  }
});
