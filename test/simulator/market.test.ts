import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseUnits } from '../../src/core/decimal.js';
import { instrumentFor } from '../../src/simulator/instruments.js';
import { type BookChange, type BookSnapshot, idsFromClock, type SimAggTrade, type SimTrade, SymbolMarket } from '../../src/simulator/market.js';

interface Run {
  trades: SimTrade[];
  aggTrades: SimAggTrade[];
  changes: BookChange[];
  start: BookSnapshot;
  end: BookSnapshot;
}

function run(seed: number, seconds: number, symbol = 'BTCUSDT'): Run {
  const market = new SymbolMarket(instrumentFor(symbol, 'spot'), seed, 20, 10, idsFromClock(1_700_000_000_000));
  const out: Run = { trades: [], aggTrades: [], changes: [], start: market.snapshot(1_000), end: market.snapshot(0) };
  for (let s = 1; s <= seconds; s++) {
    market.advance(s, 1_700_000_000_000 + s * 1_000, {
      trades: (t, a) => {
        out.trades.push(...t);
        out.aggTrades.push(...a);
      },
      book: (c) => out.changes.push(c),
    });
  }
  out.end = market.snapshot(1_000);
  return out;
}

test('the same seed gives the same market; another seed another', () => {
  const a = run(7, 120);
  const b = run(7, 120);
  const c = run(8, 120);
  assert.deepEqual(a, b);
  assert.notDeepEqual(
    a.trades.map((t) => t.price),
    c.trades.map((t) => t.price),
  );
});

test('trades are contiguous, sized like a real market, priced on the tick', () => {
  const { trades } = run(1, 600);
  assert.ok(trades.length > 8_000, `${trades.length} trades in 600 s at 20/s`);
  for (let i = 1; i < trades.length; i++) assert.equal(trades[i]?.id, (trades[i - 1]?.id ?? 0) + 1);
  for (const t of trades) {
    assert.match(t.price, /^\d+\.\d{2}000000$/, 'BTCUSDT tick 0.01, 8 decimals');
    assert.match(t.qty, /^\d+\.\d{5}000$/, 'BTCUSDT lot step 0.00001');
  }
  const qtys = trades.map((t) => Number(t.qty)).sort((x, y) => x - y);
  const median = qtys[Math.floor(qtys.length / 2)] ?? 0;
  const max = qtys[qtys.length - 1] ?? 0;
  assert.ok(median > 0.0005 && median < 0.01, `median ${median} BTC`);
  assert.ok(max > median * 100, `whale-size trades exist (max ${max})`);
  const sells = trades.filter((t) => t.buyerIsMaker).length;
  assert.ok(sells > trades.length * 0.3 && sells < trades.length * 0.7, 'both taker sides');
  assert.ok(new Set(trades.map((t) => t.price)).size > 50, 'the price moves');
});

test('aggTrades aggregate the trades exactly (f..l, price, side, summed qty)', () => {
  const { trades, aggTrades } = run(2, 300);
  const byId = new Map(trades.map((t) => [t.id, t]));
  let next = trades[0]?.id ?? 0;
  aggTrades.forEach((a, i) => {
    if (i > 0) assert.equal(a.id, (aggTrades[i - 1]?.id ?? 0) + 1);
    assert.equal(a.firstId, next, 'aggTrades cover every trade once, in order');
    let qty = 0n;
    for (let id = a.firstId; id <= a.lastId; id++) {
      const t = byId.get(id);
      assert.ok(t);
      assert.equal(t.price, a.price);
      assert.equal(t.buyerIsMaker, a.buyerIsMaker);
      assert.equal(t.time, a.time);
      qty += parseUnits(t.qty, 8);
    }
    assert.equal(parseUnits(a.qty, 8), qty);
    next = a.lastId + 1;
  });
  assert.equal(next, (trades[trades.length - 1]?.id ?? 0) + 1);
  assert.ok(
    aggTrades.some((a) => a.lastId > a.firstId),
    'some aggTrades span several trades',
  );
});

test('book changes replayed on the first snapshot give every bookTicker and the last snapshot', () => {
  const { start, end, changes } = run(3, 300);
  const bids = new Map(start.bids.map(([p, q]) => [p, q]));
  const asks = new Map(start.asks.map(([p, q]) => [p, q]));
  const best = (side: Map<string, string>, highest: boolean) =>
    [...side.keys()].sort((x, y) => (highest ? Number(y) - Number(x) : Number(x) - Number(y)))[0] ?? '';
  let lastId = start.lastUpdateId;
  let tops = 0;
  for (const c of changes) {
    assert.equal(c.firstUpdateId, lastId + 1, 'update ids are contiguous');
    assert.ok(c.lastUpdateId >= c.firstUpdateId);
    lastId = c.lastUpdateId;
    for (const [side, levels] of [
      [bids, c.bids],
      [asks, c.asks],
    ] as const) {
      for (const [p, q] of levels) {
        if (parseUnits(q, 8) === 0n) side.delete(p);
        else side.set(p, q);
      }
    }
    const bid = best(bids, true);
    const ask = best(asks, false);
    assert.ok(Number(bid) < Number(ask), 'the book never crosses');
    if (c.top === null) continue;
    tops += 1;
    assert.equal(c.top.updateId, c.lastUpdateId);
    assert.deepEqual([c.top.bidPrice, c.top.bidQty, c.top.askPrice, c.top.askQty], [bid, bids.get(bid), ask, asks.get(ask)]);
  }
  assert.ok(tops > 1_000);
  assert.equal(end.lastUpdateId, lastId);
  assert.deepEqual(new Map(end.bids.map(([p, q]) => [p, q])), bids);
  assert.deepEqual(new Map(end.asks.map(([p, q]) => [p, q])), asks);
});

test('issue 9 kind 12 (simulator restarts): ids start from the clock, above every id an earlier run used', () => {
  const startedAt = 1_700_000_000_000;
  const first = new SymbolMarket(instrumentFor('BTCUSDT', 'spot'), 7, 20_000, 10_000, idsFromClock(startedAt));
  const trades: SimTrade[] = [];
  const aggTrades: SimAggTrade[] = [];
  let lastUpdate = 0;
  // Two virtual seconds at 20,000 trades/s (a burst far above the default 20/s). Ids leave room per
  // millisecond of run time, so two seconds prove what a minute would, at a thirtieth of the work.
  first.advance(2, startedAt, {
    trades: (t, a) => {
      trades.push(...t);
      aggTrades.push(...a);
    },
    book: (c) => {
      lastUpdate = c.lastUpdateId;
    },
  });
  assert.ok(trades.length > 30_000, `${trades.length} trades`);
  // Restarted with the same seed two seconds later: same market, new ids, none of them used before.
  const second = new SymbolMarket(instrumentFor('BTCUSDT', 'spot'), 7, 20_000, 10_000, idsFromClock(startedAt + 2_000));
  let next: { trade: number; agg: number; update: number } | null = null;
  second.advance(1, startedAt + 2_000, {
    trades: (t, a) => (next ??= { trade: t[0]!.id, agg: a[0]!.id, update: 0 }),
    book: (c) => {
      if (next !== null && next.update === 0) next.update = c.firstUpdateId;
    },
  });
  assert.ok(next !== null);
  const n = next as { trade: number; agg: number; update: number };
  assert.ok(n.trade > trades[trades.length - 1]!.id, 'trade ids continue above the first run');
  assert.ok(n.agg > aggTrades[aggTrades.length - 1]!.id, 'aggTrade ids continue above the first run');
  assert.ok(n.update > lastUpdate, 'book update ids continue above the first run');
  assert.ok(Number.isSafeInteger(idsFromClock(Date.UTC(2200, 0)).updateId));
});
