import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../src/simulator/index.js';
import { kafkaBusConfig, uniquePrefix } from '../support/kafka.js';
import { emittedTradeRanges, leastEmitted, readEmbedded, startTestPipeline, storedTradeRanges, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

test('tickflow run --bus kafka: one process, durable transport through the real broker, every emitted trade stored once', async (t) => {
  const sim = await startSimulator({ symbols: ['BTCUSDT', 'ETHUSDT'], seed: 5, tradesPerSecond: 60 });
  t.after(() => sim.close());
  const prefix = uniquePrefix('run-kafka');
  const bus = kafkaBusConfig(prefix, { groupPrefix: prefix, autoOffsetReset: 'earliest' });
  const dataDir = tempDir();
  const { pipeline, stop } = await startTestPipeline(t, {
    'source.kind': 'binance',
    'source.wsBaseUrl': sim.wsBaseUrl,
    'source.symbols': ['BTCUSDT', 'ETHUSDT'],
    'source.streams': ['trade', 'aggTrade', 'bookTicker'],
    'bus.kind': 'kafka',
    'bus.brokers': bus.brokers,
    'bus.topics': bus.topics,
    'bus.groupPrefix': prefix,
    'bus.autoOffsetReset': 'earliest',
    'store.dataDir': dataDir,
  });
  assert.equal(pipeline.bus.kind, 'kafka');
  // The simulator counts what it sent to a subscriber: over 100 ids on each stream is tickflow's input.
  const streams = ['btcusdt', 'ethusdt'].flatMap((s) => [`${s}@trade`, `${s}@aggTrade`, `${s}@bookTicker`]);
  await waitFor('over 100 ids sent on every stream', () => streams.every((k) => (sim.emitted()[k]?.count ?? 0) > 100), {
    progress: () => leastEmitted(sim.emitted(), streams),
  });
  sim.faults.stall(600_000);
  const emitted = sim.emitted();
  const expected = emittedTradeRanges(emitted);
  // Everything sent has to travel through Kafka to the writer; wait until it is stored.
  const tickers = emitted['btcusdt@bookTicker']!.count + emitted['ethusdt@bookTicker']!.count;
  const trades = [...expected.values()].flat().reduce((n, [a, b]) => n + b - a + 1, 0);
  const storedNow = async () =>
    (
      await pipeline.db.query<{ trades: number; tickers: number }>(
        'SELECT (SELECT count(*)::int FROM trades) AS trades, (SELECT count(*)::int FROM book_ticker) AS tickers',
      )
    )[0]!;
  await waitFor(
    'every emitted event stored',
    async () => {
      const row = await storedNow();
      return row.trades >= trades && row.tickers >= tickers;
    },
    { progress: storedNow },
  );
  assert.equal(await stop(), 0);
  await readEmbedded(dataDir, async (db) => {
    const stored = await storedTradeRanges(db);
    for (const [stream, ranges] of expected) assert.deepEqual(stored.get(stream), ranges, stream);
    const [bt] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM book_ticker');
    assert.equal(bt!.n, tickers);
  });
});
