import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import WebSocket from 'ws';
import { type Simulator, startSimulator } from '../../src/simulator/index.js';
import type { Queryable } from '../../src/store/database.js';
import { emittedTradeRanges, holes, type Ranges, readEmbedded, startTestPipeline, storedTradeRanges, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

const STREAMS = ['btcusdt@trade', 'btcusdt@aggTrade'] as const;

interface GapRow {
  stream: string;
  first: number;
  last: number;
  status: string | null;
  rows: number | null;
}

const gapRows = (db: Queryable) =>
  db.query<GapRow>(
    `SELECT stream, first_missing_id::float8 AS first, last_missing_id::float8 AS last, heal_status AS status, heal_rows::float8 AS rows
     FROM gaps WHERE stream IN ('trade', 'aggTrade') ORDER BY stream, first_missing_id`,
  );

/** Ids of one stream as a single run from the first to the last id the simulator sent: holes healed. */
const span = (r: Ranges): Ranges => [[r[0]![0], r.at(-1)![1]]];

test('healing: 200 trades/s, connection dropped for ~10 s and ids skipped → every gap healed from REST, stored ids = the emitted span, candles recomputed', async (t) => {
  const dataDir = tempDir();
  const { ctx, pipeline, stop } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade', 'aggTrade'],
    'simulator.tradesPerSecond': 200,
    'store.dataDir': dataDir,
    'heal.pollMs': 200,
  });
  const sim = pipeline.simulator!;
  const db = pipeline.db;
  const count = (stream: string) => sim.emitted()[stream]?.count ?? 0;
  const progress = () => count('btcusdt@trade');

  await waitFor('1,000 trades emitted', () => count('btcusdt@trade') >= 1_000, { progress });
  sim.faults.skipIds('BTCUSDT', 'trade', 50);
  sim.faults.skipIds('BTCUSDT', 'aggTrade', 70);
  const beforeCut = count('btcusdt@trade');
  await waitFor('the skipped ids passed', () => count('btcusdt@trade') >= beforeCut + 500, { progress });
  // ~10 s without data: the connection is cut and the simulator sends nothing while the client reconnects.
  sim.faults.stall(10_000);
  sim.faults.dropConnections();
  const cut = sim.emitted()['btcusdt@trade']!.lastId!;
  await waitFor('trading resumed after the cut', () => (sim.emitted()['btcusdt@trade']?.lastId ?? 0) > cut + 2_000, { progress });

  // Every hole the simulator made is a gap row, and every gap row ends healed.
  const expectedGaps = () => {
    const emitted = emittedTradeRanges(sim.emitted());
    return STREAMS.flatMap((s) => holes(emitted.get(s) ?? []).map(([first, last]) => ({ stream: s.split('@')[1]!, first, last })));
  };
  await waitFor(
    'every gap recorded and healed',
    async () => {
      const rows = await gapRows(db);
      return rows.length >= expectedGaps().length && rows.every((r) => r.status === 'healed');
    },
    { progress: async () => [await gapRows(db), pipeline.healer?.report().rows] },
  );

  // Freeze the market, then wait until the store holds the emitted span of both streams.
  const ranges = await storedEmittedSpan(sim, db);
  const responses = (await ctx.metrics.restResponses.get()).values;
  assert.ok(responses.length > 0 && responses.every((v) => v.labels.status === '200'), `REST answered 200 only, never 429/418: ${JSON.stringify(responses)}`);
  for (const s of STREAMS) assert.ok((ranges.get(s)?.length ?? 0) >= 3, `${s}: the skip and the cut left holes (${JSON.stringify(ranges.get(s))})`);
  const expected = new Map(STREAMS.map((s) => [s, span(ranges.get(s)!)]));
  assert.equal(await stop(), 0);

  await readEmbedded(dataDir, async (db) => {
    const now = await storedTradeRanges(db);
    for (const s of STREAMS) assert.deepEqual(now.get(s), expected.get(s), `${s}: stored ids are every id from the first to the last emitted`);
    const gaps = await gapRows(db);
    // One gap row per hole the simulator made, ending where the hole ends; it may start a little
    // earlier: frames written to the socket just before the cut count as emitted but never arrived.
    for (const s of STREAMS) {
      const stream = s.split('@')[1]!;
      const mine = gaps.filter((g) => g.stream === stream);
      const made = holes(ranges.get(s)!);
      assert.equal(mine.length, made.length, `${s}: one gap row per hole (${JSON.stringify(mine)} vs ${JSON.stringify(made)})`);
      mine.forEach((g, i) => {
        const [first, last] = made[i]!;
        assert.ok(g.first <= first && g.last === last, `${s}: gap ${g.first}-${g.last} covers the hole ${first}-${last}`);
        assert.deepEqual([g.status, g.rows], ['healed', g.last - g.first + 1], `${s}: gap ${g.first}-${g.last} healed with every missing id fetched`);
      });
    }
    // The processor folded the healed trades into their candles: each 1m candle counts every stored trade of its minute.
    const candles = await db.query<{ start: string; count: number; stored: number }>(
      `SELECT c.window_start::text AS start, c.trade_count::float8 AS count,
              (SELECT count(*) FROM trades t WHERE t.kind = 'trade' AND t.symbol = c.symbol
                 AND t.trade_time >= c.window_start AND t.trade_time < c.window_start + interval '1 minute')::float8 AS stored
       FROM candles c WHERE c.interval = '1m' AND c.symbol = 'BTCUSDT' ORDER BY c.window_start`,
    );
    assert.ok(candles.length > 0);
    for (const c of candles) assert.equal(c.count, c.stored, `candle ${c.start}: trade_count equals the trades stored in its minute`);
  });
});

/** Freezes the market and waits until the store holds, per stream, every id from the first to the last one emitted. */
async function storedEmittedSpan(sim: Simulator, db: Queryable): Promise<Map<string, Ranges>> {
  sim.faults.stall(600_000);
  const ranges = emittedTradeRanges(sim.emitted());
  const expected = new Map(STREAMS.map((s) => [s, span(ranges.get(s)!)]));
  await waitFor(
    'the emitted span stored',
    async () => {
      const now = await storedTradeRanges(db);
      return STREAMS.every((s) => JSON.stringify(now.get(s)) === JSON.stringify(expected.get(s)));
    },
    { progress: async () => JSON.stringify([...(await storedTradeRanges(db)).entries()]) },
  );
  return ranges;
}

test('healing across a restart: gaps a stopped run left unhealed, and the ids sent while nothing ran, are healed by the next start', async (t) => {
  const sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 8, tradesPerSecond: 100 });
  t.after(() => sim.close());
  const dataDir = tempDir();
  const options = {
    'source.kind': 'binance',
    'source.wsBaseUrl': sim.wsBaseUrl,
    'source.restBaseUrl': sim.restBaseUrl,
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade', 'aggTrade'],
    'store.dataDir': dataDir,
    'heal.pollMs': 200,
  };
  const count = () => sim.emitted()['btcusdt@trade']?.count ?? 0;

  const first = await startTestPipeline(t, { ...options, 'heal.enabled': false });
  await waitFor('300 trades emitted', () => count() >= 300, { progress: count });
  sim.faults.skipIds('BTCUSDT', 'trade', 40);
  sim.faults.skipIds('BTCUSDT', 'aggTrade', 40);
  // The gaps are recorded as the pipeline takes in the trades after the skips: its stored rows are the progress.
  const storedTrades = async () => (await first.pipeline.db.query<{ n: number }>('SELECT count(*)::int AS n FROM trades'))[0]!.n;
  await waitFor('both skips recorded as gaps', async () => (await gapRows(first.pipeline.db)).length >= 2, { progress: storedTrades });
  assert.ok(
    (await gapRows(first.pipeline.db)).every((g) => g.status === null),
    'healing off: the gaps stay pending',
  );
  assert.equal(await first.stop(), 0);
  // The market goes on while nothing runs: the next start sees a restart gap as well.
  const lastSeen = sim.emitted()['btcusdt@trade']!.lastId!;
  await waitFor(
    'trading went on',
    async () => ((await (await fetch(`${sim.restBaseUrl}/api/v3/trades?symbol=BTCUSDT&limit=1`)).json()) as { id: number }[])[0]!.id > lastSeen + 200,
    60_000,
  );

  const second = await startTestPipeline(t, options);
  const db = second.pipeline.db;
  await waitFor(
    'the old gaps and the restart gaps healed',
    async () => {
      const rows = await gapRows(db);
      return rows.length >= 4 && rows.every((r) => r.status === 'healed');
    },
    { progress: async () => [await gapRows(db), second.pipeline.healer?.report().rows] },
  );
  const ranges = await storedEmittedSpan(sim, db);
  assert.equal(await second.stop(), 0);
  await readEmbedded(dataDir, async (db) => {
    const stored = await storedTradeRanges(db);
    for (const s of STREAMS) assert.deepEqual(stored.get(s), span(ranges.get(s)!), `${s}: every id from the first to the last emitted is stored`);
    const reasons = await db.query<{ reason: string; status: string }>(`SELECT DISTINCT reason, heal_status AS status FROM gaps ORDER BY reason`);
    assert.deepEqual(reasons, [
      { reason: 'restart', status: 'healed' },
      { reason: 'sequence', status: 'healed' },
    ]);
  });
});

test('healing a replay: with heal.replayRestBaseUrl, the trades cut out of a recording are fetched from REST and the candle counts them', async (t) => {
  const dir = tempDir();
  // Spot trades as Binance sends them, 100 ms apart from 2024-08-09 00:00:00; the replayed copy lacks ids 1100-1129.
  const start = 1723161600000;
  const line = (id: number) => {
    const time = start + (id - 1_000) * 100;
    return `${BigInt(time) * 1_000_000n} {"stream":"btcusdt@trade","data":{"e":"trade","E":${time},"s":"BTCUSDT","t":${id},"p":"61000.${String(id).padStart(8, '0')}","q":"0.01000000","T":${time},"m":${id % 2 === 0},"M":true}}`;
  };
  const ids = Array.from({ length: 200 }, (_, i) => 1_000 + i);
  const full = join(dir, 'btcusdt_full.txt');
  const cut = join(dir, 'btcusdt_cut.txt');
  writeFileSync(full, `${ids.map(line).join('\n')}\n`);
  writeFileSync(
    cut,
    `${ids
      .filter((id) => id < 1_100 || id > 1_129)
      .map(line)
      .join('\n')}\n`,
  );

  // The exchange's REST history: a simulator replaying the whole recording (it plays once a client listens).
  const sim = await startSimulator({ symbols: ['BTCUSDT'], replayFiles: [full], replaySpeed: 0 });
  t.after(() => sim.close());
  const listener = new WebSocket(`${sim.wsBaseUrl}/ws/btcusdt@trade`);
  t.after(() => listener.terminate());
  const lastId = async () => ((await (await fetch(`${sim.restBaseUrl}/api/v3/historicalTrades?symbol=BTCUSDT&limit=1`)).json()) as { id: number }[])[0]?.id;
  await waitFor('the simulator played the recording', async () => (await lastId()) === 1_199, 60_000);

  const dataDir = tempDir();
  const { pipeline, stop } = await startTestPipeline(t, {
    'source.kind': `replay:${cut}`,
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade'],
    'processor.candleIntervals': ['1m'],
    'store.dataDir': dataDir,
    'heal.replayRestBaseUrl': sim.restBaseUrl,
    'heal.pollMs': 200,
  });
  await pipeline.drained;
  await waitFor('the replay gap healed', async () => (await gapRows(pipeline.db)).some((g) => g.status !== null), {
    progress: async () => [await gapRows(pipeline.db), pipeline.healer?.report()],
  });
  assert.deepEqual(await gapRows(pipeline.db), [{ stream: 'trade', first: 1_100, last: 1_129, status: 'healed', rows: 30 }]);
  await waitFor(
    'the candles count the healed trades',
    async () => {
      const [c] = await pipeline.db.query<{ n: number }>("SELECT sum(trade_count)::float8 AS n FROM candles WHERE interval = '1m'");
      return c?.n === 200;
    },
    { progress: async () => await pipeline.db.query("SELECT window_start::text, trade_count::float8 FROM candles WHERE interval = '1m'") },
  );
  assert.deepEqual((await storedTradeRanges(pipeline.db)).get('btcusdt@trade'), [[1_000, 1_199]]);
  assert.equal(await stop(), 0);
});

test('healing what REST no longer has: a gap below its history fails, one reaching into it is partial, each row says why', async (t) => {
  const { pipeline } = await startTestPipeline(t, {
    'source.kind': 'sim',
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade'],
    'store.dataDir': tempDir(),
    'heal.pollMs': 200,
  });
  const sim = pipeline.simulator!;
  const emitted = () => sim.emitted()['btcusdt@trade']?.count ?? 0;
  await waitFor('trades emitted', () => emitted() >= 50, { progress: emitted });
  const oldest = ((await (await fetch(`${sim.restBaseUrl}/api/v3/historicalTrades?symbol=BTCUSDT&fromId=0&limit=1`)).json()) as { id: number }[])[0]!.id;
  const gap = (first: number, last: number) =>
    pipeline.db.query(
      `INSERT INTO gaps (exchange, market, symbol, stream, first_missing_id, last_missing_id, detected_at, reason) VALUES ('binance', 'spot', 'BTCUSDT', 'trade', $1, $2, now(), 'restart')`,
      [first, last],
    );
  await gap(oldest - 1_000, oldest - 991);
  await gap(oldest - 5, oldest + 4);
  const rows = () =>
    pipeline.db.query<{ first: number; status: string | null; rows: number | null; error: string | null }>(
      `SELECT first_missing_id::float8 AS first, heal_status AS status, heal_rows::float8 AS rows, heal_error AS error FROM gaps ORDER BY first_missing_id`,
    );
  await waitFor('both gaps finished', async () => (await rows()).every((r) => r.status !== null), { progress: rows });
  assert.deepEqual(await rows(), [
    { first: oldest - 1_000, status: 'failed', rows: 0, error: 'REST returned 0 of the 10 ids: the exchange no longer keeps the others' },
    { first: oldest - 5, status: 'partial', rows: 5, error: 'REST returned 5 of the 10 ids: the exchange no longer keeps the others' },
  ]);
  const res = await fetch(`${pipeline.apiUrl}/api/gaps?symbol=BTCUSDT`);
  const api = ((await res.json()) as { gaps: { firstMissingId: number; healStatus: string; healRows: number }[] }).gaps;
  assert.deepEqual(
    api.map((g) => [g.firstMissingId, g.healStatus, g.healRows]).sort((a, b) => Number(a[0]) - Number(b[0])),
    [
      [oldest - 1_000, 'failed', 0],
      [oldest - 5, 'partial', 5],
    ],
  );
});
