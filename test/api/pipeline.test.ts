import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemoryBus } from '../../src/bus/memory.js';
import type { PipelineStatus } from '../../src/api/pipeline.js';
import { validate } from '../../src/config/load.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { sampleLag } from '../../src/ops/process-metrics.js';
import { processorGroup, startProcessor } from '../../src/processors/processor-role.js';
import type { SourceStatus } from '../../src/sources/source.js';
import { startTestPipeline, tempDir } from '../support/pipeline.js';
import { openTestDatabase, testApp, trade } from './helpers.js';

const T0 = Date.UTC(2024, 7, 8, 12, 0, 0);

const replayFinished: SourceStatus = { kind: 'replay', connections: [], lastMessageAt: {}, finished: true };

test("/api/pipeline: a replay has no ingest latency (its receive clock is the recording's), never a negative one", async (t) => {
  const db = await openTestDatabase(t);
  let source: SourceStatus | null = replayFinished;
  const { app, live } = testApp(t, db, { pipeline: () => ({ source, bus: { kind: 'memory', consumerLag: null } }) });
  // As in the shared recordings: received 1.27 s "before" the exchange sent it (the recorder's clock ran behind).
  for (let i = 0; i < 10; i++) live.publish({ ...trade('BTCUSDT', i, '61000.00', '0.1', T0 + i), ingestionTimestamp: (T0 + i - 1_270) * 1000 });

  const replay = (await app.inject('/api/pipeline')).json();
  assert.equal(replay.source.kind, 'replay');
  assert.equal(replay.source.finished, true);
  assert.deepEqual([replay.ingestLatencyMs.p50, replay.ingestLatencyMs.p99], [null, null]);
  assert.match(replay.ingestLatencyMs.notApplicable, /replay/);

  // A live source whose host clock is behind the exchange's: the latency floors at 0, never below.
  source = { kind: 'binance', connections: [], lastMessageAt: {}, finished: false };
  const running = (await app.inject('/api/pipeline')).json();
  assert.equal(running.ingestLatencyMs.notApplicable, undefined);
  assert.equal(running.ingestLatencyMs.samples, 10);
  assert.equal(running.ingestLatencyMs.p50, 0);
});

test('/api/pipeline and /health: processing lag apart from the recovery distance held in open windows; health follows the processing lag', async (t) => {
  const db = await openTestDatabase(t);
  const bus = new MemoryBus();
  t.after(() => bus.close());
  const config = validate({ processor: { triggerIntervalMs: 3_600_000, candleIntervals: ['1m'], allowedLatenessMs: 0 } });
  const metrics = createMetrics();
  // testApp's health registry, so that /health shows the processor's lag component.
  let status: PipelineStatus = { source: null, bus: { kind: 'memory', consumerLag: null } };
  const { app, health } = testApp(t, db, { pipeline: () => status });
  const processor = await startProcessor({ config, bus, db, logger: silentLogger(), metrics, health });
  const group = processorGroup(config.bus);
  // A threshold below the records held open: they must not make the group look behind.
  const sampler = sampleLag(processor, group, metrics, { intervalMs: 3_600_000, health, degradedAboveRecords: 10 });
  // Closed here, not in an after hook: those run in registration order, after the database's.
  t.after(() => sampler.stop());
  const report = async () => {
    await bus.drain();
    await processor.flush();
    await sampler.sampleNow();
    status = { ...status, bus: { kind: 'memory', consumerLag: sampler.latest().map((s) => ({ group, ...s })) } };
    return [(await app.inject('/api/pipeline')).json(), (await app.inject('/health')).json()] as const;
  };

  // 30 trades inside one minute: processed, but the window is open, so none can be committed.
  await bus.publish(Array.from({ length: 30 }, (_, i) => trade('BTCUSDT', i + 1, '61000.00', '0.1', T0 + i * 1_000)));
  const [open, openHealth] = await report();
  const trades = open.bus.consumerLag.find((l: { topic: string }) => l.topic === 'trades');
  assert.deepEqual({ lag: trades.lag, recoveryDistance: trades.recoveryDistance }, { lag: 0, recoveryDistance: 30 });
  const component = openHealth.components[`lag:${group}`];
  assert.equal(component.state, 'up', JSON.stringify(component));
  assert.deepEqual([component.details.lagRecords, component.details.recoveryDistanceRecords], [0, 30]);
  assert.match(await metrics.registry.metrics(), /^tickflow_consumer_recovery_distance_records\{group="tickflow-process",topic="trades",partition="0"\} 30$/m);

  // A trade of the next minute closes the 1m windows: their 30 trades are committed, the new one is held.
  await bus.publish([trade('BTCUSDT', 31, '61001.00', '0.1', T0 + 60_000)]);
  const [closed] = await report();
  const after = closed.bus.consumerLag.find((l: { topic: string }) => l.topic === 'trades');
  assert.deepEqual({ lag: after.lag, recoveryDistance: after.recoveryDistance }, { lag: 0, recoveryDistance: 1 });
  await processor.close();
});

test('tickflow run --source sim: /api/pipeline and /health name the simulator, not Binance; /api/symbols has exchangeInfo tick and lot sizes', async (t) => {
  // Lower case is fine: symbols are checked against exchangeInfo upper-cased.
  const { pipeline } = await startTestPipeline(t, { 'source.kind': 'sim', 'source.symbols': ['btcusdt'], 'store.dataDir': tempDir() });
  assert.ok(pipeline.apiUrl);
  const report = (await (await fetch(`${pipeline.apiUrl}/api/pipeline`)).json()) as { source: SourceStatus };
  assert.equal(report.source.kind, 'sim');
  const health = (await (await fetch(`${pipeline.apiUrl}/health`)).json()) as { components: Record<string, { details?: { kind?: string } }> };
  assert.equal(health.components.source?.details?.kind, 'sim');
  const { symbols } = (await (await fetch(`${pipeline.apiUrl}/api/symbols`)).json()) as { symbols: { symbol: string; tickSize?: string; stepSize?: string }[] };
  // The simulator's exchangeInfo: Binance's BTCUSDT PRICE_FILTER and LOT_SIZE.
  assert.deepEqual(
    symbols.map((s) => [s.symbol, s.tickSize, s.stepSize]),
    [['BTCUSDT', '0.01000000', '0.00001000']],
  );
});
