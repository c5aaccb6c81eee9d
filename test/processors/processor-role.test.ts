import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { observeCommits } from '../support/bus.js';
import type { Bus } from '../../src/bus/bus.js';
import { MemoryBus } from '../../src/bus/memory.js';
import { type Config, configSchema } from '../../src/config/schema.js';
import type { MarketEvent } from '../../src/core/events.js';
import { HealthRegistry } from '../../src/ops/health.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { ProcessorCore } from '../../src/processors/processor-core.js';
import { startProcessor, tradeStreamOf } from '../../src/processors/processor-role.js';
import type { Database } from '../../src/store/database.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';
import { startStoreWriter } from '../../src/store/writer.js';
import { sharedData } from '../support/data.js';
import { recordedEvents } from '../support/recordings.js';
import { asInputs, trade } from './support.js';

const logger = silentLogger();
const TABLES = ['candles', 'trade_metrics', 'spread_metrics', 'whale_trades', 'late_events'] as const;

function config(candleIntervals: string[] = ['1m', '5m']): Config {
  return configSchema.parse({
    processor: {
      candleIntervals,
      // Partial upserts are wall-clock driven; the test compares what the input alone decides.
      triggerIntervalMs: 3_600_000,
      whaleNotional: 50_000,
    },
  });
}

/** The databases opened in each scratch dir, closed before the dir is removed. */
const openIn = new Map<string, Database[]>();

/**
 * A scratch dir removed after the test once every database opened in it is closed: after-hooks run
 * in registration order, and removing a running server's folder fails with ENOTEMPTY (pg_wal).
 */
async function scratchDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-proc-'));
  t.after(async () => {
    await Promise.all((openIn.get(dir) ?? []).map((db) => db.close().catch(() => undefined)));
    openIn.delete(dir);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

async function openDb(dir: string): Promise<Database> {
  const db = await openEmbedded({ dataDir: dir, port: 0, logger });
  openIn.set(dir, [...(openIn.get(dir) ?? []), db]);
  await migrate(db, { logger, retentionDays: 100_000 });
  return db;
}

/** The MemoryBus with the highest offset committed per topic recorded (what a restart resumes from). */
function committingBus(inner: MemoryBus, committed: Map<string, bigint>): Bus {
  return observeCommits(inner, (deliveries) => {
    for (const d of deliveries) if ((committed.get(d.topic) ?? -1n) < d.offset) committed.set(d.topic, d.offset);
  });
}

async function dump(db: Database): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const table of TABLES) {
    const rows = await db.query<{ r: string }>(`SELECT t::text AS r FROM ${table} t ORDER BY 1`);
    out[table] = rows.map((row) => row.r);
  }
  return out;
}

function deps(db: Database, bus: Bus, candleIntervals?: string[]) {
  return { config: config(candleIntervals), bus, db, logger, metrics: createMetrics(), health: new HealthRegistry() };
}

/** Two symbols interleaved in one partition per topic (BTC and ETH spot, by arrival). */
async function twoSymbols(t: TestContext): Promise<MarketEvent[] | undefined> {
  const btc = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  const eth = sharedData(t, 'binance-spot-ws', 'ethusdt_20240808.gz');
  if (!btc || !eth) return undefined;
  const events = [...(await recordedEvents(btc, 'spot')), ...(await recordedEvents(eth, 'spot'))];
  return events.filter((e) => e.type === 'trade' || e.type === 'bookTicker').sort((a, b) => a.ingestionTimestamp - b.ingestionTimestamp);
}

async function uninterrupted(t: TestContext, events: readonly MarketEvent[]): Promise<Record<string, string[]>> {
  const dir = await scratchDir(t);
  const db = await openDb(dir);
  const bus = new MemoryBus();
  const processor = await startProcessor(deps(db, bus));
  await bus.publish(events);
  await bus.drain();
  await processor.finish();
  await processor.close();
  return dump(db);
}

/**
 * Runs the first `crashAt` events, abandons the processor without closing it (kill -9: no flush,
 * no commit beyond what it did on its own), then starts a new one on a fresh bus positioned where
 * the group had committed, replays from there, and finishes.
 */
async function crashAndReplay(t: TestContext, events: readonly MarketEvent[], crashAt: number): Promise<Record<string, string[]>> {
  const dir = await scratchDir(t);
  const committed = new Map<string, bigint>();
  const first = await openDb(dir);
  const bus1 = new MemoryBus();
  await startProcessor(deps(first, committingBus(bus1, committed)));
  await bus1.publish(events.slice(0, crashAt));
  await bus1.drain();
  await first.close();

  // The new bus assigns the same offsets: events up to the committed offset of their topic are
  // published before the processor subscribes, so it only sees what it must replay.
  const db = await openDb(dir);
  const bus2 = new MemoryBus();
  const already = new Map<string, bigint>();
  const before: MarketEvent[] = [];
  const after: MarketEvent[] = [];
  for (const e of events) {
    const topic = e.type === 'trade' ? 'trades' : 'bookTicker';
    const offset = already.get(topic) ?? 0n;
    already.set(topic, offset + 1n);
    (offset <= (committed.get(topic) ?? -1n) ? before : after).push(e);
  }
  assert.ok(before.length > 0, 'the first run committed something');
  assert.ok(after.length > events.length - crashAt, 'the replay covers events the first run had already seen');
  // Publishing `before` in one go keeps per-topic offsets identical to the uninterrupted run.
  await bus2.publish(before);
  const processor = await startProcessor(deps(db, bus2));
  await bus2.publish(after);
  await bus2.drain();
  await processor.finish();
  await processor.close();
  return dump(db);
}

test('kill -9 at arbitrary points + replay from the committed offsets gives the same tables as one uninterrupted run', async (t) => {
  const events = await twoSymbols(t);
  if (!events) return;
  const reference = await uninterrupted(t, events);
  assert.ok(reference.candles!.length > 10);
  assert.ok(reference.trade_metrics!.length > 5);
  assert.ok(reference.spread_metrics!.length > 10);
  assert.ok(reference.whale_trades!.length > 0);
  for (const crashAt of [Math.floor(events.length * 0.37) + 11, Math.floor(events.length * 0.81) + 3]) {
    const replayed = await crashAndReplay(t, events, crashAt);
    for (const table of TABLES) assert.deepEqual(replayed[table], reference[table], `${table} after a crash at event ${crashAt}`);
  }
});

/** Every 97th trade delivered 25 s late (beyond the 10 s allowed lateness): late corrections. */
function withLateTrades(events: readonly MarketEvent[]): MarketEvent[] {
  const out: MarketEvent[] = [];
  const held: MarketEvent[] = [];
  let n = 0;
  for (const e of events) {
    while (held.length > 0 && (held[0] as MarketEvent).ingestionTimestamp + 25_000_000 <= e.ingestionTimestamp) out.push(held.shift() as MarketEvent);
    if (e.type === 'trade') n += 1;
    if (e.type === 'trade' && n % 97 === 0) held.push(e);
    else out.push(e);
  }
  return [...out, ...held];
}

test('with late events corrected, a crash + replay still gives the same tables', async (t) => {
  const recorded = await twoSymbols(t);
  if (!recorded) return;
  const events = withLateTrades(recorded);
  const late = new ProcessorCore({ ...config().processor, tradeStream: 'trade' }).ingest(asInputs(events)).late;
  assert.ok(late.length > 20, `expected late trades, got ${late.length}`);
  const reference = await uninterrupted(t, events);
  const replayed = await crashAndReplay(t, events, Math.floor(events.length * 0.55) + 7);
  for (const table of TABLES) assert.deepEqual(replayed[table], reference[table], `${table} after a crash`);
});

/** A processor of 1m candles on a fresh database; `prepare` runs on the database before it starts. */
async function oneMinuteProcessor(t: TestContext, prepare?: (db: Database) => Promise<unknown>) {
  const dir = await scratchDir(t);
  const db = await openDb(dir);
  await prepare?.(db);
  const committed = new Map<string, bigint>();
  const bus = new MemoryBus();
  const d = deps(db, committingBus(bus, committed), ['1m']);
  return { db, bus, committed, d, processor: await startProcessor(d) };
}

test('close() writes open windows as partial rows and commits only below them; late events are counted', async (t) => {
  const { db, bus, committed, d, processor } = await oneMinuteProcessor(t);
  await bus.publish([
    trade(1, 1_000, '10', '1'),
    trade(2, 61_000, '11', '1'),
    trade(3, 75_000, '12', '1'), // watermark 65 000: minute 0 final
    trade(4, 2_000, '9', '2'), // late for minute 0: corrects it
  ]);
  await bus.drain();
  await processor.close();
  const rows = await db.query<{ start: number; volume: string; is_final: boolean }>(
    `SELECT extract(epoch from window_start)::int AS start, volume::text, is_final FROM candles WHERE interval = '1m' ORDER BY window_start`,
  );
  assert.deepEqual(
    rows.map((r) => [r.start, r.volume, r.is_final]),
    [
      [0, '3', true],
      [60, '2', false],
    ],
  );
  assert.equal(committed.get('trades'), 0n, 'offset 1 still feeds the open minute 1');
  const late = await d.metrics.lateEvents.get();
  assert.deepEqual(
    late.values.map((v) => [v.labels.symbol, v.value]),
    [['BTCUSDT', 1]],
  );
  const health = await d.health.evaluate();
  assert.equal(health.components.processor?.state, 'up');
});

test('tradeStream auto follows the source streams', () => {
  const of = (streams: string[], tradeStream?: string) =>
    tradeStreamOf(configSchema.parse({ source: { streams }, processor: tradeStream ? { tradeStream } : {} }));
  assert.equal(of(['trade', 'aggTrade', 'bookTicker']), 'trade');
  assert.equal(of(['aggTrade', 'bookTicker']), 'aggTrade');
  assert.equal(of(['bookTicker']), 'trade');
  assert.equal(of(['trade', 'aggTrade'], 'aggTrade'), 'aggTrade');
});

test('one bad event never causes unbounded work: a processor row the database always refuses goes to dead_letters, the rest is written, close() returns', async (t) => {
  // Stands for any value the database will never take (out of range, a check constraint).
  const { db, bus, committed, d, processor } = await oneMinuteProcessor(t, (db) =>
    db.query('ALTER TABLE candles ADD CONSTRAINT candles_high_sane CHECK (high < 1000000)'),
  );
  await bus.publish([
    trade(1, 1_000, '10', '1'),
    trade(2, 61_000, '5000000', '0.001'), // minute 1's candle is refused
    trade(3, 121_000, '12', '1'),
    trade(4, 190_000, '13', '1'), // watermark 180 000: minutes 0..2 final
  ]);
  await bus.drain();
  await processor.close();
  const candles = await db.query<{ start: number; high: string }>(
    `SELECT extract(epoch from window_start)::int AS start, high::text FROM candles WHERE interval = '1m' AND is_final ORDER BY window_start`,
  );
  assert.deepEqual(
    candles.map((r) => [r.start, r.high]),
    [
      [0, '10'],
      [120, '12'],
    ],
  );
  const metrics = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM trade_metrics WHERE is_final`);
  assert.equal(metrics[0]?.n, 3, 'the other tables of the same batch are written');
  const dead = await db.query<{ origin: string; reason: string; detail: string; raw: string }>('SELECT origin, reason, detail, raw FROM dead_letters');
  assert.equal(dead.length, 1);
  assert.deepEqual([dead[0]?.origin, dead[0]?.reason], ['processor', 'rejected_by_database']);
  assert.match(dead[0]!.detail, /^candles: 23514 /);
  assert.equal((JSON.parse(dead[0]!.raw) as { high: string; windowStart: number }).windowStart, 60_000);
  assert.ok((committed.get('trades') ?? -1n) >= 2n, 'offsets move past the refused row');
  const counted = await d.metrics.deadLetters.get();
  assert.deepEqual(
    counted.values.map((v) => [v.labels.origin, v.labels.reason, v.value]),
    [['processor', 'rejected_by_database', 1]],
  );
});

test('gaps across restarts: windows open at a crash are rebuilt from the stored trades, so the final candle counts every stored trade', async (t) => {
  const dir = await scratchDir(t);
  const db = await openDb(dir);
  const run = async (bus: MemoryBus) => {
    const d = deps(db, bus, ['1m']);
    const writer = await startStoreWriter(d);
    return { writer, processor: await startProcessor(d) };
  };
  const bus1 = new MemoryBus();
  const first = await run(bus1);
  await bus1.publish([
    trade(1, 1_000, '10', '1'),
    trade(2, 61_000, '11', '1'),
    trade(3, 62_000, '12', '1'),
    trade(4, 75_000, '13', '1'), // watermark 65 000: minute 0 final, minute 1 open with trades 2..4
  ]);
  await bus1.drain();
  await first.writer.flush();
  // kill -9: the processor never writes minute 1 as final nor closes; a new process starts on a new in-process bus.
  const bus2 = new MemoryBus();
  const second = await run(bus2);
  await bus2.publish([trade(5, 80_000, '14', '1'), trade(6, 140_000, '15', '1')]); // watermark 130 000: minute 1 final
  await bus2.drain();
  await second.processor.close();
  await second.writer.close();
  const stored = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM trades WHERE trade_time >= to_timestamp(60) AND trade_time < to_timestamp(120)`);
  const candle = await db.query<{ trade_count: number; open: string; close: string; is_final: boolean; is_complete: boolean }>(
    `SELECT trade_count::int, open::text, close::text, is_final, is_complete FROM candles WHERE interval = '1m' AND window_start = to_timestamp(60)`,
  );
  assert.equal(stored[0]?.n, 4);
  assert.deepEqual(
    candle.map((c) => [c.trade_count, c.open, c.close, c.is_final, c.is_complete]),
    [[4, '11', '14', true, true]],
  );
});
