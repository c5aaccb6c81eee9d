import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { spawnTickflow } from '../support/cli.js';
import { emittedTradeRanges, holes, leastEmitted, readEmbedded, startTestPipeline, storedTradeRanges, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];

test('simulator → tickflow run (child process) → embedded DB holds exactly what was emitted; SIGTERM flushes everything', async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 7, tradesPerSecond: 150, bookTickersPerSecond: 50 });
  t.after(() => sim.close());
  const dataDir = tempDir();
  const run = spawnTickflow([
    'run',
    '--source',
    'binance',
    '--ws-url',
    sim.wsBaseUrl,
    '--symbols',
    SYMBOLS.join(','),
    '--streams',
    'trade,aggTrade,bookTicker,depth,kline_1m',
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--set',
    'store.embeddedPort=0',
    // A long batch window: rows are still buffered when SIGTERM arrives, so the flush is what saves them.
    '--set',
    'store.batchMs=60000',
    '--set',
    'store.batchRows=100000',
  ]);
  t.after(() => run.child.kill('SIGKILL'));
  const api = (JSON.parse(await run.waitForLog(/dashboard and API listening/)) as { url: string }).url;
  await run.waitForLog(/"connection":"binance-0".*"msg":"connection open"/);
  const streams = SYMBOLS.flatMap((s) => ['trade', 'aggTrade', 'bookTicker', 'depth@100ms', 'kline_1m'].map((k) => `${s.toLowerCase()}@${k}`));
  await waitFor(
    'every stream emitted, over 100 trade ids each',
    () => {
      const e = sim.emitted();
      return streams.every((k) => (e[k]?.frames ?? 0) > 0) && [...emittedTradeRanges(e).values()].every((r) => r.length > 0 && r[0]![1] - r[0]![0] > 100);
    },
    { progress: () => leastEmitted(sim.emitted(), streams) },
  );
  sim.faults.stall(600_000); // nothing more is sent (nor counted as emitted) from here on
  // Every frame sent must have been read by tickflow before SIGTERM: its received-messages counter
  // reaches the simulator's delivered frames (one connection, so nothing is still in flight).
  const frames = Object.values(sim.emitted()).reduce((n, s) => n + s.frames, 0);
  const received = async () => {
    const text = await (await fetch(`${api}/metrics`)).text();
    return [...text.matchAll(/^tickflow_messages_received_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  await waitFor(`tickflow received all ${frames} frames`, async () => (await received()) >= frames, { progress: received });
  const emitted = sim.emitted();
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr().slice(-2000));

  await readEmbedded(dataDir, async (db) => {
    const stored = await storedTradeRanges(db);
    const expected = emittedTradeRanges(emitted);
    assert.equal(expected.size, 4);
    for (const [stream, ranges] of expected) {
      assert.ok(ranges.length > 0 && ranges[0]![1] - ranges[0]![0] > 100, `${stream} emitted enough to be meaningful`);
      assert.deepEqual(stored.get(stream), ranges, `${stream}: stored id ranges equal the emitted ones`);
    }
    const dupes = await db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM (SELECT symbol, kind, trade_id FROM trades GROUP BY 1, 2, 3 HAVING count(*) > 1) d',
    );
    assert.equal(dupes[0]!.n, 0);
    for (const symbol of SYMBOLS) {
      const s = symbol.toLowerCase();
      const [bt] = await db.query<{ n: number; lo: string; hi: string }>(
        'SELECT count(*)::int AS n, min(update_id)::text AS lo, max(update_id)::text AS hi FROM book_ticker WHERE symbol = $1',
        [symbol],
      );
      const eb = emitted[`${s}@bookTicker`]!;
      assert.deepEqual([bt!.n, Number(bt!.lo), Number(bt!.hi)], [eb.count, eb.firstId, eb.lastId], `${symbol} bookTicker`);
      const [dp] = await db.query<{ ids: number; lo: string; hi: string }>(
        `SELECT sum(final_update_id - first_update_id + 1)::int AS ids, min(first_update_id)::text AS lo,
                max(final_update_id)::text AS hi FROM depth_updates WHERE symbol = $1`,
        [symbol],
      );
      const ed = emitted[`${s}@depth@100ms`]!;
      assert.deepEqual([dp!.ids, Number(dp!.lo), Number(dp!.hi)], [ed.count, ed.firstId, ed.lastId], `${symbol} depth`);
      const [kl] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM klines WHERE symbol = $1', [symbol]);
      assert.ok(kl!.n >= 1, `${symbol} klines stored`);
    }
    const [dl] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM dead_letters');
    const [gp] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM gaps');
    assert.deepEqual([dl!.n, gp!.n], [0, 0]);
  });
});

test('rotation, a dropped connection, skipped ids and malformed frames: no loss, no duplicates, every hole a gap row', async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 11, tradesPerSecond: 80, connectionLifetimeMs: 4_000 });
  t.after(() => sim.close());
  const dataDir = tempDir();
  const { stop, pipeline } = await startTestPipeline(t, {
    'source.kind': 'binance',
    'source.wsBaseUrl': sim.wsBaseUrl,
    'source.symbols': SYMBOLS,
    'source.streams': ['trade', 'aggTrade'],
    // Rotate well before the simulator's 4 s cut, as tickflow does before Binance's 24 h one.
    'source.rotateAfterMs': 1_500,
    'source.backoff.initialMs': 100,
    'source.gapGraceMs': 300,
    'store.dataDir': dataDir,
  });
  // Each fault waits for the simulator to show it took effect on what a subscribed client got:
  // a fault armed before tickflow subscribed (a slow start) would hit nobody and prove nothing.
  const tradeStreams = SYMBOLS.flatMap((s) => [`${s.toLowerCase()}@trade`, `${s.toLowerCase()}@aggTrade`]);
  // Emission is what each wait below awaits: the faults show in what the simulator sends next.
  const progress = () => leastEmitted(sim.emitted(), tradeStreams);
  const holeCount = () => [...emittedTradeRanges(sim.emitted()).values()].reduce((n, r) => n + holes(r).length, 0);
  await waitFor('all four trade streams flowing', () => tradeStreams.every((k) => (sim.emitted()[k]?.count ?? 0) > 20), { progress });
  const btcRanges = () => sim.emitted()['btcusdt@trade']!.ranges;
  const before = btcRanges().length;
  sim.faults.skipIds('BTCUSDT', 'trade', 5);
  await waitFor('trades delivered after the 5 skipped ids', () => btcRanges().length > before, { progress });
  let holesBefore = holeCount();
  sim.faults.malformed(3);
  // A later frame of the garbled frame's stream closes the hole it left; the three are consecutive.
  await waitFor('a hole left by the garbled frames', () => holeCount() > holesBefore, { progress });
  holesBefore = holeCount();
  const atDrop = progress();
  assert.ok(sim.faults.dropConnections() >= 1);
  await waitFor('trades flowing again after the drop', () => tradeStreams.every((k) => (sim.emitted()[k]?.count ?? 0) > 0) && progress() > atDrop + 200, {
    progress,
  });
  sim.faults.stall(600_000);
  const emitted = sim.emitted();
  const expected = emittedTradeRanges(emitted);
  const holesExpected = [...expected.values()].reduce((n, r) => n + holes(r).length, 0);
  // Stop only once everything delivered is stored and every hole is a gap row (after source.gapGraceMs).
  const storedNow = async () => {
    const [row] = await pipeline.db.query<{ trades: number; gaps: number }>(
      'SELECT (SELECT count(*)::int FROM trades) AS trades, (SELECT count(*)::int FROM gaps) AS gaps',
    );
    return row!;
  };
  const total = [...expected.values()].flat().reduce((n, [a, b]) => n + b - a + 1, 0);
  await waitFor(
    `all ${total} delivered trades stored and ${holesExpected} gap rows`,
    async () => {
      const n = await storedNow();
      return n.trades >= total && n.gaps >= holesExpected;
    },
    { progress: storedNow },
  );
  assert.equal(await stop(), 0);

  await readEmbedded(dataDir, async (db) => {
    const stored = await storedTradeRanges(db);
    const gapRows = await db.query<{ symbol: string; stream: string; first: string; last: string }>(
      'SELECT symbol, stream, first_missing_id::text AS first, last_missing_id::text AS last FROM gaps ORDER BY symbol, stream, first_missing_id',
    );
    let expectedHoles = 0;
    for (const [stream, ranges] of emittedTradeRanges(emitted)) {
      assert.deepEqual(stored.get(stream), ranges, `${stream}: stored id ranges equal the emitted ones`);
      const [sym, kind] = stream.split('@') as [string, string];
      const found = gapRows.filter((g) => g.symbol === sym.toUpperCase() && g.stream === kind).map((g) => [Number(g.first), Number(g.last)]);
      assert.deepEqual(found, holes(ranges), `${stream}: one gap row per hole, exact bounds`);
      expectedHoles += found.length;
    }
    // The skipped ids, the malformed frames and the dropped connection each left holes.
    assert.ok(expectedHoles >= 3, `holes found: ${expectedHoles}`);
    const skipped = gapRows.find((g) => g.symbol === 'BTCUSDT' && g.stream === 'trade' && Number(g.last) - Number(g.first) + 1 === 5);
    assert.ok(skipped, 'the 5 skipped BTCUSDT trade ids are one gap');
    const dead = await db.query<{ reason: string; raw: string }>('SELECT reason, raw FROM dead_letters');
    // Three frames were garbled; during a rotation overlap a garbled frame may reach one link while
    // the other delivers the good copy, so at least one dead letter, and every one of them garbage.
    assert.ok(dead.length >= 1 && dead.length <= 6, JSON.stringify(dead.map((d) => [d.reason, d.raw.slice(0, 120)])));
    for (const d of dead) {
      assert.equal(d.reason, 'malformed_json');
      assert.ok(d.raw.length > 0, 'the raw frame is kept');
    }
  });
});

test('a configuration error names the key, the value and what is allowed, and exits non-zero', async () => {
  const dataDir = tempDir();
  const bad = spawnTickflow(['run', '--data-dir', join(dataDir, 'x'), '--set', 'store.batchRows=0']);
  assert.equal(await bad.exited, 2);
  assert.match(bad.stderr(), /TF_CONFIG_INVALID: invalid value for store\.batchRows: 0/);
  const unknown = spawnTickflow(['run', '--source', 'kraken']);
  assert.equal(await unknown.exited, 2);
  assert.match(unknown.stderr(), /source\.kind: "kraken" — expected binance, sim or replay:<file>/);
  const typo = spawnTickflow(['run'], { TICKFLOW_STORE_BATCH_ROW: '5' });
  assert.equal(await typo.exited, 2);
  assert.match(typo.stderr(), /unknown environment variable TICKFLOW_STORE_BATCH_ROW="5"/);
});
