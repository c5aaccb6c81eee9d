import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import type { BookTickerEvent, DepthEvent, Market } from '../../src/core/events.js';
import { LocalBook } from '../../src/book/local-book.js';
import { parseFrame } from '../../src/sources/binance/parse.js';
import { depthSnapshotFromRest } from '../../src/sources/binance/rest-parse.js';
import { readRecording } from '../../src/sources/replay/recording.js';
import { sharedData } from '../support/data.js';

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
    for await (const frame of readRecording(file)) {
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
