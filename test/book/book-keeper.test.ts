import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { BookKeeper } from '../../src/book/book-keeper.js';
import { configSchema } from '../../src/config/schema.js';
import type { DepthEvent, GapEvent, Market, PipelineEvent } from '../../src/core/events.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics, type Metrics } from '../../src/ops/metrics.js';
import { BinanceRestClient } from '../../src/sources/binance/rest.js';
import { BinanceSource } from '../../src/sources/binance/source.js';
import { startSimulator } from '../../src/simulator/index.js';
import { waitFor } from '../support/wait.js';

async function counter(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((sum, v) => sum + v.value, 0);
}

/**
 * The live book against the exchange simulator over real sockets: BinanceSource (diff-depth
 * stream) → BookKeeper, snapshots over REST with the real client. Slow markets, so that the
 * simulator's book often stands still between a diff flush and a REST snapshot.
 */
async function harness(t: TestContext, market: Market) {
  const sim = await startSimulator({ symbols: ['BTCUSDT'], market, tradesPerSecond: 1, bookTickersPerSecond: 1, seed: 11 });
  t.after(() => sim.close());
  const config = configSchema.parse({
    source: { market, symbols: ['BTCUSDT'], streams: ['depth'], backoff: { initialMs: 50, maxMs: 500 } },
    book: { snapshotMs: 50, resyncMinMs: 50, resyncMaxMs: 500 },
  });
  const metrics = createMetrics();
  const rest = new BinanceRestClient({ baseUrl: sim.restBaseUrl, market });
  const events: PipelineEvent[] = [];
  const fetched: number[] = [];
  const keeper = new BookKeeper({
    exchange: 'binance',
    market,
    symbols: ['BTCUSDT'],
    config: config.book,
    fetchSnapshot: async (symbol, limit) => {
      const s = await rest.depth(symbol, limit);
      fetched.push(s.lastUpdateId);
      return s;
    },
    emit: async (batch) => {
      events.push(...batch);
    },
    logger: silentLogger(),
    metrics,
  });
  keeper.start();
  t.after(() => keeper.stop());
  const source = new BinanceSource(config.source, { logger: silentLogger(), metrics }, { wsBaseUrl: sim.wsBaseUrl });
  await source.start(async (batch) => {
    keeper.observe(batch);
    events.push(...batch);
  });
  t.after(() => source.stop());
  return { sim, keeper, rest, metrics, events, fetched };
}

/**
 * Waits for a moment when the simulator's book stands still: a REST snapshot whose lastUpdateId is
 * exactly the live book's update id (no change between the last diff and the snapshot). Then the
 * whole book must be equal, level by level. Returns the update id compared at.
 */
async function bookEqualsExchange(h: Awaited<ReturnType<typeof harness>>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const snapshot = await h.rest.depth('BTCUSDT', 1_000);
    // The diff that carries the snapshot's last update arrives after the snapshot was taken.
    await waitFor(`the book to reach update ${snapshot.lastUpdateId}`, () => (h.keeper.top('BTCUSDT', 1)?.updateId ?? -1) >= snapshot.lastUpdateId);
    const view = h.keeper.top('BTCUSDT', 1_000);
    if (view === null || view.updateId !== snapshot.lastUpdateId) continue;
    assert.ok(snapshot.bids.length > 0 && snapshot.asks.length > 0);
    assert.deepEqual({ bids: view.bids, asks: view.asks }, { bids: snapshot.bids, asks: snapshot.asks }, `book at update ${view.updateId}`);
    return view.updateId;
  }
  throw new Error('the simulator never stood still between a diff and a snapshot in 200 tries');
}

for (const market of ['spot', 'usdm'] as const) {
  test(`live book (${market}) equals the simulator's own book; an injected depth gap is a recorded gap and a resync`, async (t) => {
    const h = await harness(t, market);
    await waitFor('the book to come in step', () => h.keeper.top('BTCUSDT', 5) !== null);
    const first = await bookEqualsExchange(h);
    assert.equal(await counter(h.metrics, 'tickflow_book_resyncs_total', { reason: 'start' }), 1);
    assert.equal(await counter(h.metrics, 'tickflow_book_sequence_breaks_total'), 0);

    const fetchedBefore = h.fetched.length;
    h.sim.faults.skipIds('BTCUSDT', 'depth@100ms', 1);
    await waitFor('the book to see the break', async () => (await counter(h.metrics, 'tickflow_book_sequence_breaks_total')) === 1);
    const gaps = h.events.filter((e): e is GapEvent => e.type === 'gap');
    assert.equal(gaps.length, 1, 'the break is recorded once, as a depth gap');
    assert.equal(gaps[0]?.stream, 'depth');
    assert.ok((gaps[0]?.firstMissingId ?? 0) > first);
    await waitFor('the resync from a new snapshot', () => h.fetched.length > fetchedBefore && h.keeper.top('BTCUSDT', 1) !== null);
    // `sequence` when the book had applied a diff since its snapshot, `snapshot_mismatch` when the skipped diff was the first after it.
    const resyncs = (await counter(h.metrics, 'tickflow_book_resyncs_total')) - (await counter(h.metrics, 'tickflow_book_resyncs_total', { reason: 'start' }));
    assert.equal(resyncs, 1);
    await bookEqualsExchange(h);

    await waitFor('a periodic top-N snapshot', () => h.events.some((e) => e.type === 'bookSnapshot'));
    const snap = h.events.find((e) => e.type === 'bookSnapshot');
    assert.ok(snap?.type === 'bookSnapshot' && snap.depth === 20 && snap.bids.length === 20 && snap.asks.length === 20);
    assert.equal(h.events.filter((e) => e.type === 'depthSnapshot').length, h.fetched.length, 'every REST snapshot is published (depth_snapshots)');
  });
}

test('book keeper: snapshot requests stay bounded while every diff breaks the book (backoff and a per-minute cap)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'setInterval', 'Date'], now: 1_000_000 });
  const config = configSchema.parse({ book: { resyncMinMs: 1_000, resyncMaxMs: 8_000, maxSnapshotsPerMinute: 5 } }).book;
  let requests = 0;
  let nextId = 100;
  const keeper = new BookKeeper({
    exchange: 'binance',
    market: 'spot',
    symbols: ['BTCUSDT'],
    config,
    fetchSnapshot: async () => {
      requests++;
      return { lastUpdateId: nextId, bids: [['1.00', '1']], asks: [['2.00', '1']] };
    },
    emit: async () => {},
    logger: silentLogger(),
    metrics: createMetrics(),
  });
  t.after(() => keeper.stop());
  const diff = (U: number, u: number): DepthEvent => ({
    type: 'depth',
    exchange: 'binance',
    market: 'spot',
    symbol: 'BTCUSDT',
    eventTime: 0,
    ingestionTimestamp: 0,
    firstUpdateId: U,
    finalUpdateId: u,
    bids: [],
    asks: [],
  });
  const flush = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  // Every snapshot fits the buffered diff, and the next diff skips ids: a break each time.
  keeper.observe([diff(100, 100)]);
  for (let second = 0; second < 60; second++) {
    t.mock.timers.tick(1_000);
    await flush();
    nextId += 10;
    keeper.observe([diff(nextId + 5, nextId + 5)]);
    keeper.observe([diff(nextId + 6, nextId + 6)]);
  }
  // Backoff 0, 1, 2, 4, 8, 8, ... s: far fewer than the 60 breaks, and never above the cap.
  assert.ok(requests >= 3 && requests <= 5, `${requests} snapshot requests in a minute of breaks`);
});
