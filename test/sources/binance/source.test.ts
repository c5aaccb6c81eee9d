import assert from 'node:assert/strict';
import { type TestContext, test } from 'node:test';
import { pino } from 'pino';
import { configSchema, type ConfigInput } from '../../../src/config/schema.js';
import type { DeadLetterEvent, GapEvent, PipelineEvent, TradeEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics, type Metrics } from '../../../src/ops/metrics.js';
import { BinanceSource, unreachableMessage } from '../../../src/sources/binance/source.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../../src/simulator/index.js';
import { waitFor } from '../../support/wait.js';

/** Runs the source against the in-process exchange simulator over real sockets. */
interface Harness {
  readonly sim: Simulator;
  readonly source: BinanceSource;
  readonly metrics: Metrics;
  readonly events: PipelineEvent[];
  trades(symbol?: string): TradeEvent[];
  gaps(): GapEvent[];
  deadLetters(): DeadLetterEvent[];
}

async function harness(t: TestContext, sim: Partial<SimulatorOptions>, source: NonNullable<ConfigInput['source']>): Promise<Harness> {
  const simulator = await startSimulator({ symbols: ['BTCUSDT'], tradesPerSecond: 100, seed: 7, ...sim });
  t.after(() => simulator.close());
  const config = configSchema.parse({
    source: { symbols: ['BTCUSDT'], streams: ['trade'], stallTimeoutMs: 5_000, gapGraceMs: 500, backoff: { initialMs: 50, maxMs: 500 }, ...source },
  }).source;
  const metrics = createMetrics();
  const src = new BinanceSource(config, { logger: silentLogger(), metrics }, { wsBaseUrl: simulator.wsBaseUrl });
  const events: PipelineEvent[] = [];
  await src.start(async (batch) => {
    events.push(...batch);
  });
  t.after(() => src.stop());
  return {
    sim: simulator,
    source: src,
    metrics,
    events,
    trades: (symbol) => events.filter((e): e is TradeEvent => e.type === 'trade' && (symbol === undefined || e.symbol === symbol)),
    gaps: () => events.filter((e): e is GapEvent => e.type === 'gap'),
    deadLetters: () => events.filter((e): e is DeadLetterEvent => e.type === 'deadLetter'),
  };
}

/** The ids missing between the first and last id of `ranges` (what the simulator never delivered). */
function holes(ranges: readonly [number, number][], from: number, to: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 1; i < ranges.length; i++) {
    const first = ranges[i - 1]![1] + 1;
    const last = ranges[i]![0] - 1;
    if (first >= from && last <= to) out.push([first, last]);
  }
  return out;
}

function assertNoDuplicates(ids: readonly number[]): void {
  assert.equal(new Set(ids).size, ids.length, 'duplicate trade ids were emitted');
}

/** Every id from the first to the last received, exactly once. */
function assertContiguous(ids: readonly number[]): void {
  const sorted = [...ids].sort((a, b) => a - b);
  assertNoDuplicates(sorted);
  assert.equal(sorted[sorted.length - 1]! - sorted[0]! + 1, sorted.length, 'trade ids have holes');
}

async function counter(metrics: Metrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = await metrics.registry.getSingleMetric(name)?.get();
  return (metric?.values ?? []).filter((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val)).reduce((sum, v) => sum + v.value, 0);
}

test('all five stream types over split connections; status and readiness', async (t) => {
  const h = await harness(
    t,
    { symbols: ['BTCUSDT', 'ETHUSDT'] },
    { symbols: ['BTCUSDT', 'ETHUSDT'], streams: ['trade', 'aggTrade', 'bookTicker', 'depth', 'kline_1m'], maxStreamsPerConnection: 4 },
  );
  const types = ['trade', 'aggTrade', 'bookTicker', 'depth', 'kline'];
  await waitFor('every stream type', () => types.every((type) => h.events.some((e) => e.type === type && 'symbol' in e && e.symbol === 'ETHUSDT')));
  assert.equal(h.source.ready(), true);
  const status = h.source.status();
  assert.equal(status.connections.length, 3, '10 streams at 4 per connection');
  assert.deepEqual(
    status.connections.map((c) => c.streams),
    [4, 4, 2],
  );
  assert.ok(status.connections.every((c) => c.state === 'open'));
  assert.ok(status.lastMessageAt['btcusdt@depth@100ms']! > 0);
  assert.ok(status.lastMessageAt['ethusdt@kline_1m']! > 0);
  assert.equal(h.deadLetters().length, 0);
  assert.equal(await counter(h.metrics, 'tickflow_websocket_connected'), 3);
});

test('reconnects after the exchange drops every connection; the gap matches what was not delivered', async (t) => {
  const h = await harness(t, {}, {});
  await waitFor('trades before the drop', () => h.trades().length >= 50);
  const undelivered = () => {
    const ids = h.trades().map((e) => e.tradeId);
    return holes(h.sim.emitted()['btcusdt@trade']!.ranges, Math.min(...ids), Math.max(...ids));
  };
  // A reconnect quicker than the simulator's 20 ms tick loses nothing; drop again until one did.
  for (let drops = 1; undelivered().length === 0; drops++) {
    assert.ok(drops <= 8, 'no reconnect ever lost a trade');
    assert.equal(h.sim.faults.dropConnections(), 1);
    const before = h.trades().length;
    await waitFor('trades after the reconnect', () => h.source.status().connections[0]!.reconnects === drops && h.trades().length >= before + 30);
  }
  // The gaps are the ids the source never got: what the simulator did not send, and a frame it
  // counted as sent that was still in flight when the connection was cut.
  const missed = (): [number, number][] => {
    const ids = [...new Set(h.trades().map((e) => e.tradeId))].sort((a, b) => a - b);
    return ids.flatMap((id, i): [number, number][] => (i > 0 && id > ids[i - 1]! + 1 ? [[ids[i - 1]! + 1, id - 1]] : []));
  };
  const notSent = undelivered();
  const expected = missed();
  await waitFor('the gap events', () => h.gaps().length === expected.length);
  assert.deepEqual(
    h.gaps().map((g) => [g.firstMissingId, g.lastMissingId]),
    expected,
  );
  for (const [first, last] of notSent)
    assert.ok(
      expected.some(([a, b]) => a <= first && last <= b),
      `ids ${first}..${last} not sent lie in a gap`,
    );
  assert.ok(h.gaps().every((g) => g.reason === 'reconnect'));
  assertNoDuplicates(h.trades().map((e) => e.tradeId));
  assert.equal(await counter(h.metrics, 'tickflow_websocket_reconnects_total'), h.source.status().connections[0]!.reconnects);
  assert.equal(
    await counter(h.metrics, 'tickflow_gap_missing_ids_total'),
    expected.reduce((n, [first, last]) => n + last - first + 1, 0),
  );
});

test('scheduled rotation: replacement first, then switch; no trade lost or duplicated', async (t) => {
  const h = await harness(
    t,
    { tradesPerSecond: 200 },
    { streams: ['trade', 'aggTrade', 'bookTicker', 'depth', 'kline_1m'], rotateAfterMs: 700, rotationOverlapMs: 300 },
  );
  await waitFor('three rotations', async () => (await counter(h.metrics, 'tickflow_websocket_reconnects_total', { reason: 'rotation' })) >= 3, 30_000);
  await waitFor('the old connection closed', () => h.source.status().connections.length === 1);
  const ids = h.trades().map((e) => e.tradeId);
  assertContiguous(ids);
  assertContiguous(h.events.flatMap((e) => (e.type === 'aggTrade' ? [e.aggTradeId] : [])));
  const emitted = h.sim.emitted()['btcusdt@trade']!;
  assert.deepEqual(emitted.ranges.length, 1, 'the simulator delivered one unbroken range');
  assert.equal(h.gaps().length, 0);
  assert.ok((await counter(h.metrics, 'tickflow_duplicates_dropped_total', { stream: 'trade' })) > 0, 'the overlap was real');
  const updates = h.events.flatMap((e) => (e.type === 'bookTicker' ? [e.updateId] : []));
  assert.equal(new Set(updates).size, updates.length, 'no bookTicker twice');
  // Diff depth chains (U = previous u + 1) straight across every switch: nothing lost, nothing twice.
  const depth = h.events.flatMap((e) => (e.type === 'depth' ? [e] : []));
  assert.ok(depth.length > 10);
  for (let i = 1; i < depth.length; i++) assert.equal(depth[i]!.firstUpdateId, depth[i - 1]!.finalUpdateId + 1, `depth #${i}`);
  const klines = h.events.flatMap((e) => (e.type === 'kline' ? [`${e.openTime}/${e.lastTradeId}/${e.closed}`] : []));
  assert.ok(klines.length > 0);
  assert.equal(new Set(klines).size, klines.length, 'no kline update twice');
  assert.equal(await counter(h.metrics, 'tickflow_websocket_reconnects_total', { reason: 'closed' }), 0);
});

test('serverShutdown: the source leaves the announced connection itself; no trade lost', async (t) => {
  const h = await harness(t, { tradesPerSecond: 200 }, { rotationOverlapMs: 300 });
  await waitFor('trades', () => h.trades().length >= 50);
  // The simulator would cut every connection when this runs out, the replacement included, so the
  // grace outlives the test: what is checked is that the source does not wait for the cut.
  h.sim.faults.shutdownNotice(600_000);
  await waitFor('rotation', async () => (await counter(h.metrics, 'tickflow_websocket_reconnects_total', { reason: 'server_shutdown' })) === 1);
  const after = h.trades().length + 200;
  await waitFor('trades on the new connection', () => h.trades().length >= after && h.source.status().connections.length === 1);
  assertContiguous(h.trades().map((e) => e.tradeId));
  assert.equal(h.gaps().length, 0);
  assert.equal(h.sim.emitted()['btcusdt@trade']!.ranges.length, 1);
  assert.deepEqual(
    h.source.status().connections.map((c) => c.id),
    ['binance-0.1'],
    'the announced connection was closed by the source',
  );
});

test('skipped ids become one gap with the exact bounds (reason sequence)', async (t) => {
  const h = await harness(t, {}, {});
  await waitFor('trades', () => h.trades().length >= 20);
  h.sim.faults.skipIds('BTCUSDT', 'trade', 5);
  await waitFor('gap', () => h.gaps().length >= 1);
  const gap = h.gaps()[0]!;
  assert.equal(gap.lastMissingId - gap.firstMissingId + 1, 5);
  assert.equal(gap.reason, 'sequence');
  const ids = h.trades().map((e) => e.tradeId);
  assert.deepEqual(holes(h.sim.emitted()['btcusdt@trade']!.ranges, Math.min(...ids), Math.max(...ids)), [[gap.firstMissingId, gap.lastMissingId]]);
  assert.ok(!ids.some((id) => id >= gap.firstMissingId && id <= gap.lastMissingId));
});

test('malformed frames become dead letters and the stream continues', async (t) => {
  const h = await harness(t, {}, {});
  await waitFor('trades', () => h.trades().length >= 20);
  h.sim.faults.malformed(3);
  const before = h.trades().length;
  await waitFor('dead letters, then more trades', () => h.deadLetters().length === 3 && h.trades().length >= before + 50);
  for (const dl of h.deadLetters()) {
    assert.equal(dl.reason, 'malformed_json');
    assert.equal(dl.origin, 'binance-ws');
    assert.match(dl.raw, /^\{"stream":"btcusdt@trade","data":/);
  }
  assert.equal(await counter(h.metrics, 'tickflow_dead_letters_total', { reason: 'malformed_json' }), 3);
  // The mangled frames' trades never arrive: the gap detector reports exactly those three ids.
  await waitFor('gaps for the lost ids', () => h.gaps().reduce((n, g) => n + g.lastMissingId - g.firstMissingId + 1, 0) === 3);
});

test('duplicated and reordered frames: duplicates dropped, no false gaps', async (t) => {
  const h = await harness(t, {}, {});
  await waitFor('trades', () => h.trades().length >= 20);
  h.sim.faults.duplicate(5);
  await waitFor('duplicates dropped', async () => (await counter(h.metrics, 'tickflow_duplicates_dropped_total', { stream: 'trade' })) === 5);
  h.sim.faults.reorder(6);
  const before = h.trades().length;
  await waitFor('trades after the reorder', () => h.trades().length >= before + 100);
  const ids = h.trades().map((e) => e.tradeId);
  assertContiguous(ids);
  assert.ok(
    ids.some((id, i) => i > 0 && id < ids[i - 1]!),
    'the frames really arrived out of order',
  );
  assert.equal(h.gaps().length, 0);
});

test('USD-M payloads from the simulator: trade, bookTicker with E/T, depth with pu', async (t) => {
  const h = await harness(t, { market: 'usdm' }, { market: 'usdm', streams: ['trade', 'bookTicker', 'depth'] });
  await waitFor('all three streams', () => ['trade', 'bookTicker', 'depth'].every((type) => h.events.some((e) => e.type === type)));
  assert.ok(h.events.every((e) => e.type !== 'deadLetter' && e.type !== 'gap' && e.market === 'usdm'));
  const depth = h.events.find((e) => e.type === 'depth');
  assert.equal(typeof (depth?.type === 'depth' && depth.prevFinalUpdateId), 'number');
  const book = h.events.find((e) => e.type === 'bookTicker');
  assert.equal(typeof (book?.type === 'bookTicker' && book.transactionTime), 'number');
});

test('issue 9 kind 1 (USD-M routed paths): every stream type arrives from a simulator that enforces the routes', async (t) => {
  const streams = ['trade', 'aggTrade', 'bookTicker', 'depth', 'kline_1m'];
  const h = await harness(t, { market: 'usdm', symbols: ['BTCUSDT', 'ETHUSDT'] }, { market: 'usdm', symbols: ['BTCUSDT', 'ETHUSDT'], streams });
  const types = ['trade', 'aggTrade', 'bookTicker', 'depth', 'kline'];
  const symbols = ['BTCUSDT', 'ETHUSDT'];
  await waitFor('every stream type of both symbols', () =>
    types.every((type) => symbols.every((s) => h.events.some((e) => e.type === type && 'symbol' in e && e.symbol === s))),
  );
  // One connection per route: /public (trade, bookTicker, depth) and /market (aggTrade, kline).
  assert.deepEqual(
    h.source.status().connections.map((c) => c.streams),
    [6, 4],
  );
  assert.ok(h.events.every((e) => e.type !== 'deadLetter' && e.type !== 'gap'));
  const delivered = Object.keys(h.sim.emitted()).sort();
  assert.deepEqual(delivered, symbols.flatMap((s) => streams.map((st) => `${s.toLowerCase()}@${st === 'depth' ? 'depth@100ms' : st}`)).sort());
});

test('issue 9 kind 2 (keep-alive per market): USD-M server pings every 3 min; data, then probe pongs through a quiet spell, keep the connection', async (t) => {
  // The simulator keeps Binance's USD-M keep-alive (ping every 3 min); the stall period is far shorter.
  const h = await harness(t, { market: 'usdm' }, { market: 'usdm', streams: ['trade'], stallTimeoutMs: 400 });
  await waitFor('trades over several stall periods without a ping', () => h.trades().length >= 300);
  // Nothing but the pongs to the client's probes for five stall periods: quiet is not dead.
  h.sim.faults.stall(2_000);
  const before = h.trades().length;
  await waitFor('trades after the quiet spell', () => h.trades().length >= before + 300, 30_000);
  assert.equal(h.source.status().connections[0]!.reconnects, 0);
  assert.equal(await counter(h.metrics, 'tickflow_websocket_reconnects_total'), 0);
  assert.ok(
    h.gaps().every((g) => g.reason === 'sequence'),
    'the trades the stall fault withheld are a sequence gap, not a reconnect',
  );
});

test('issue 17 item 5 (unreachable exchange): the message names the URL tried; the simulator is suggested only for Binance itself', async (t) => {
  const probe = await startSimulator({ symbols: ['BTCUSDT'] });
  const url = probe.wsBaseUrl;
  await probe.close(); // the port is now refused
  const lines: string[] = [];
  const logger = pino({ level: 'error' }, { write: (line: string) => lines.push(line) });
  const config = configSchema.parse({ source: { symbols: ['BTCUSDT'], streams: ['trade'], backoff: { initialMs: 20, maxMs: 40 } } }).source;
  const source = new BinanceSource(config, { logger, metrics: createMetrics() }, { wsBaseUrl: url });
  await source.start(async () => {});
  t.after(() => source.stop());
  await waitFor('two failed attempts logged', () => lines.length >= 2);
  const entry = JSON.parse(lines[0]!) as { msg: string; detail: string; url: string };
  // A simulator started with `tickflow simulate` and given as --ws-url: no advice to use a simulator.
  assert.equal(entry.msg, `cannot reach the exchange at ${url}/stream`);
  assert.equal(entry.url, `${url}/stream?streams=btcusdt@trade`);
  assert.match(entry.detail, /ECONNREFUSED/);
  assert.equal(source.ready(), false);
  assert.equal(source.status().connections[0]!.state, 'reconnecting');
  assert.equal(unreachableMessage(`${url}/stream`, true), `cannot reach the exchange simulator at ${url}/stream`);
  for (const live of ['wss://stream.binance.com:9443/stream', 'wss://fstream.binance.com/market/stream', 'wss://data-stream.binance.vision/stream']) {
    assert.equal(
      unreachableMessage(live, false),
      `cannot reach Binance at ${live}; to run without it, use the built-in exchange simulator: npm start -- --source sim`,
    );
  }
  assert.equal(unreachableMessage('wss://evil-binance.com.example/stream', false), 'cannot reach the exchange at wss://evil-binance.com.example/stream');
});

test('a slow sink is back-pressure: stop() waits for the batch in flight', async (t) => {
  const simulator = await startSimulator({ symbols: ['BTCUSDT'], tradesPerSecond: 200 });
  t.after(() => simulator.close());
  const config = configSchema.parse({ source: { symbols: ['BTCUSDT'], streams: ['trade'] } }).source;
  const source = new BinanceSource(config, { logger: silentLogger(), metrics: createMetrics() }, { wsBaseUrl: simulator.wsBaseUrl });
  let calls = 0;
  let finished = 0;
  let release: () => void = () => {};
  await source.start(async () => {
    calls++;
    if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
    finished++;
  });
  await waitFor('first batch handed over', () => calls === 1);
  const stopped = source.stop();
  let done = false;
  void stopped.then(() => (done = true));
  await waitFor('sockets closed', () => source.status().connections.every((c) => c.state === 'closed'));
  assert.equal(done, false, 'stop() must not resolve while a batch is in flight');
  assert.equal(calls, 1, 'no second batch while the first is unacknowledged');
  release();
  await waitFor('stop() after the last emit', () => calls === finished && done);
  assert.ok(finished >= 1);
});

test('kind 3 (microsecond times): source.timeUnit=MICROSECOND opens the streams in µs and keeps them', async (t) => {
  const h = await harness(t, {}, { timeUnit: 'MICROSECOND', streams: ['trade', 'aggTrade', 'depth'] });
  await waitFor('µs frames', () => h.trades().length >= 20 && h.events.some((e) => e.type === 'aggTrade') && h.events.some((e) => e.type === 'depth'));
  assert.deepEqual(h.deadLetters(), []);
  for (const e of h.events) {
    if (e.type === 'gap' || e.type === 'deadLetter' || e.type === 'bookSnapshot') continue;
    // The simulator answers timeUnit=MICROSECOND with E/T × 1000; the ms fields are the same instant.
    assert.equal(e.eventTimeMicros, e.eventTime * 1000, e.type);
    if (e.type === 'trade' || e.type === 'aggTrade') assert.equal(e.tradeTimeMicros, e.tradeTime * 1000);
    assert.ok(Math.abs(e.eventTime - e.ingestionTimestamp / 1000) < 60_000, 'times are plausible milliseconds');
  }
});

test('kind 6 (duplicates of the other streams): bookTicker and depth frames sent twice arrive once', async (t) => {
  const h = await harness(t, { bookTickersPerSecond: 50 }, { streams: ['bookTicker', 'depth'] });
  await waitFor('bookTicker and depth', () => h.events.filter((e) => e.type === 'bookTicker').length >= 5 && h.events.some((e) => e.type === 'depth'));
  h.sim.faults.duplicate(10);
  const dropped = async () =>
    (await counter(h.metrics, 'tickflow_duplicates_dropped_total', { stream: 'bookTicker' })) +
    (await counter(h.metrics, 'tickflow_duplicates_dropped_total', { stream: 'depth' }));
  await waitFor('ten duplicates dropped', async () => (await dropped()) === 10);
  const keys = h.events.flatMap((e) => (e.type === 'bookTicker' ? [`b${e.updateId}`] : e.type === 'depth' ? [`d${e.finalUpdateId}`] : []));
  assert.equal(new Set(keys).size, keys.length);
  assert.deepEqual(h.gaps(), []);
});

test('kind 7 (depth sequence breaks): depth updates the exchange never sent are one depth gap with their id bounds', async (t) => {
  const h = await harness(t, {}, { streams: ['depth'] });
  const depths = () => h.events.filter((e) => e.type === 'depth');
  await waitFor('depth updates', () => depths().length >= 3);
  h.sim.faults.skipIds('BTCUSDT', 'depth@100ms', 2);
  await waitFor('the depth gap', () => h.gaps().length === 1 && depths().length >= 8);
  const gap = h.gaps()[0]!;
  assert.equal(gap.stream, 'depth');
  assert.equal(gap.reason, 'sequence');
  // The gap is exactly the update ids between the stored updates on either side.
  const list = depths();
  const after = list.findIndex((e) => e.type === 'depth' && e.firstUpdateId === gap.lastMissingId + 1);
  assert.ok(after > 0, 'an update starts right after the gap');
  const before = list[after - 1]!;
  assert.equal(before.type === 'depth' && before.finalUpdateId + 1, gap.firstMissingId);
  assert.equal(await counter(h.metrics, 'tickflow_gaps_detected_total', { stream: 'depth' }), 1);
});
