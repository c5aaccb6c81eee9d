import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { Delivery } from '../../src/bus/bus.js';
import { loadConfig } from '../../src/config/load.js';
import type { AggTradeEvent, PipelineEvent, TradeEvent } from '../../src/core/events.js';
import { silentLogger } from '../../src/ops/logger.js';
import { openBus } from '../../src/pipeline/bus.js';
import { createRoleContext } from '../../src/pipeline/context.js';
import { startIngest } from '../../src/pipeline/ingest.js';
import { openSinks } from '../../src/pipeline/sinks.js';
import { createSource } from '../../src/pipeline/sources.js';
import { startSimulator } from '../../src/simulator/index.js';
import { shippedAvroCodec } from '../../src/sinks/codecs/avro.js';
import { spawnTickflow } from '../support/cli.js';
import { startKinesalite, TEST_CREDENTIALS } from '../support/kinesis.js';
import { leastEmitted, emittedTradeRanges, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const TRADE_STREAMS = SYMBOLS.flatMap((s) => [`${s.toLowerCase()}@trade`, `${s.toLowerCase()}@aggTrade`]);

test('simulator (real WebSocket) → ingest → bus and Kinesis sink (kinesalite): every emitted trade and aggTrade exactly once, the stream equals what the bus got, in order per instrument', async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 11, tradesPerSecond: 150, bookTickersPerSecond: 50 });
  t.after(() => sim.close());
  const kinesis = await startKinesalite(t);
  await kinesis.createStream('events', 3);
  await kinesis.createStream('heartbeat', 1);
  const config = loadConfig({
    env: {},
    overrides: {
      'source.kind': 'binance',
      'source.wsBaseUrl': sim.wsBaseUrl,
      'source.restBaseUrl': sim.restBaseUrl,
      'source.symbols': SYMBOLS,
      'store.dataDir': tempDir('tf-sinks-'),
      'ops.statusLine': 'off',
      sinks: [{ kind: 'kinesis', endpoint: kinesis.endpoint, streamName: 'events', heartbeatStreamName: 'heartbeat', heartbeatIntervalMs: 100, batchMs: 100 }],
    },
  });
  let exited!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  const ctx = createRoleContext('ingest', config, { logger: silentLogger(), signals: new EventEmitter(), exit: (c) => exited(c) });
  const bus = await openBus(ctx);
  const onBus: PipelineEvent[] = [];
  await bus.subscribe(
    { group: 'test', topics: ['trades', 'bookTicker', 'depth', 'klines', 'gaps', 'deadLetters'] },
    { onDeliveries: async (batch: readonly Delivery[]) => void onBus.push(...batch.map((d) => d.event)) },
  );
  const sinks = await openSinks(ctx, { awsCredentials: TEST_CREDENTIALS });
  const ingest = await startIngest(ctx, await createSource(ctx), bus, sinks);

  await waitFor(
    'over 300 trade and aggTrade ids per symbol emitted',
    () => {
      const ranges = [...emittedTradeRanges(sim.emitted()).values()];
      return ranges.length === SYMBOLS.length * 2 && ranges.every((r) => r.length > 0 && r[0]![1] - r[0]![0] > 300);
    },
    { progress: () => leastEmitted(sim.emitted(), TRADE_STREAMS) },
  );
  sim.faults.stall(600_000); // nothing more is sent (nor counted as emitted) from here on
  const frames = Object.values(sim.emitted()).reduce((n, s) => n + s.frames, 0);
  const received = () => Object.values(ingest.totals().events).reduce((n, c) => n + c, 0);
  await waitFor(`ingest received all ${frames} frames`, () => received() >= frames, { progress: received });
  const emitted = sim.emitted();
  const health = await ctx.health.evaluate();
  assert.equal(health.components['sink:kinesis']?.state, 'up');

  // The real shutdown sequence: stop the source, then flush and close the sink.
  await ctx.shutdown.shutdown('test finished');
  assert.equal(await exitCode, 0);
  await bus.drain?.();

  const codec = shippedAvroCodec();
  const records = await kinesis.readStream('events');
  const stored = records.map((r) => codec.decode(r.data));
  const json = (list: readonly PipelineEvent[]) => list.map((e) => JSON.stringify(e)).sort();
  assert.equal(stored.length, onBus.length, 'the stream holds as many records as the bus');
  assert.deepEqual(json(stored), json(onBus), 'the same events, none twice');
  assert.equal(new Set(json(stored)).size, stored.length, 'no duplicates');

  // Every trade and aggTrade the simulator emitted, exactly once.
  for (const [stream, ranges] of emittedTradeRanges(emitted)) {
    const [lower, kind] = stream.split('@') as [string, 'trade' | 'aggTrade'];
    const ids = stored
      .filter((e): e is TradeEvent | AggTradeEvent => e.type === kind && e.symbol === lower.toUpperCase())
      .map((e) => (e.type === 'trade' ? e.tradeId : e.aggTradeId))
      .sort((a, b) => a - b);
    const expected = ranges.flatMap(([a, b]) => Array.from({ length: b - a + 1 }, (_, i) => a + i));
    assert.deepEqual(ids, expected, `${stream}: ids in Kinesis equal the emitted ones`);
  }

  // Partition key = instrument key; within it the shard keeps the bus's order.
  for (const r of records) assert.match(r.partitionKey, /^binance:spot:(BTCUSDT|ETHUSDT)$/);
  const keyOrder = (list: readonly PipelineEvent[], key: string) =>
    list.filter((e) => e.type !== 'deadLetter' && `${e.exchange}:${e.market}:${e.symbol}` === key).map((e) => JSON.stringify(e));
  for (const key of new Set(records.map((r) => r.partitionKey))) {
    const shard = records.find((r) => r.partitionKey === key)!.shardId;
    assert.ok(
      records.every((r) => r.partitionKey !== key || r.shardId === shard),
      `${key} on one shard`,
    );
    const inStream = records.filter((r) => r.partitionKey === key).map((r) => JSON.stringify(codec.decode(r.data)));
    assert.deepEqual(inStream, keyOrder(onBus, key), `${key}: stream order = bus order`);
  }

  const beats = (await kinesis.readStream('heartbeat')).map((r) => JSON.parse(r.data.toString('utf8')) as { type: string });
  assert.ok(beats.length > 0 && beats.every((b) => b.type === 'heartbeat'));
});

test('tickflow run (child process) with a sink from --set: a replay ends with every record in the stream before exit; AWS credentials from the environment', async (t) => {
  const kinesis = await startKinesalite(t);
  await kinesis.createStream('events', 2);
  const dir = tempDir('tf-sinks-run-');
  const recording = join(dir, 'trades.txt');
  const lines = Array.from({ length: 300 }, (_, i) => {
    const T = 1_723_161_254_086 + i * 10;
    const trade = { e: 'trade', E: T + 1, s: 'BTCUSDT', t: 3_723_184_751 + i, p: '61005.99000000', q: '0.00200000', T, m: i % 2 === 0, M: true };
    return `${(T + 5) * 1_000_000} ${JSON.stringify({ stream: 'btcusdt@trade', data: trade })}`;
  });
  writeFileSync(recording, `${lines.join('\n')}\n`);
  // A long batchMs: the records are still buffered when the replay ends, so the end-of-run flush is what sends them.
  const sink = { kind: 'kinesis', endpoint: kinesis.endpoint, streamName: 'events', heartbeatStreamName: '', batchMs: 600_000 };
  const run = spawnTickflow(
    [
      'run',
      '--source',
      `replay:${recording}`,
      '--data-dir',
      join(dir, 'data'),
      '--port',
      '0',
      '--set',
      'store.embeddedPort=0',
      '--set',
      `sinks=${JSON.stringify([sink])}`,
    ],
    { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey, AWS_REGION: 'us-east-1' },
  );
  t.after(() => run.child.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr().slice(-2000));
  const codec = shippedAvroCodec();
  const ids = (await kinesis.readStream('events'))
    .map((r) => codec.decode(r.data))
    .filter((e): e is TradeEvent => e.type === 'trade')
    .map((e) => e.tradeId);
  assert.deepEqual(
    ids,
    Array.from({ length: 300 }, (_, i) => 3_723_184_751 + i),
    'every trade once, in order (one instrument, one shard)',
  );
});
