import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { TickflowError } from '../../../src/core/errors.js';
import type { PipelineEvent, TradeEvent } from '../../../src/core/events.js';
import { createLogger, silentLogger } from '../../../src/ops/logger.js';
import { createMetrics, type Metrics } from '../../../src/ops/metrics.js';
import { shippedAvroCodec } from '../../../src/sinks/codecs/avro.js';
import { deadLetterPath, type SinkDeadLetter } from '../../../src/sinks/dead-letter-file.js';
import { KinesisSink } from '../../../src/sinks/kinesis/index.js';
import type { KinesisSinkOptions } from '../../../src/sinks/options.js';
import { startFaultProxy } from '../../support/kinesis-fault-proxy.js';
import { startKinesalite, TEST_CREDENTIALS, testSinkOptions } from '../../support/kinesis.js';
import { tempDir } from '../../support/pipeline.js';
import { freePort } from '../../support/roles.js';
import { waitFor } from '../../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT'];

/** `n` distinct spot trades over four symbols, ids increasing per symbol. */
function trades(n: number, from = 0): TradeEvent[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const t = 1_723_161_600_000 + i;
    return {
      type: 'trade',
      exchange: 'binance',
      market: 'spot',
      symbol: SYMBOLS[i % SYMBOLS.length]!,
      eventTime: t,
      ingestionTimestamp: t * 1000 + 7,
      tradeId: 1_000_000 + i,
      price: `6${i % 10}123.45000000`,
      quantity: '0.00120000',
      tradeTime: t - 1,
      buyerIsMaker: i % 2 === 0,
    };
  });
}

interface Harness {
  readonly sink: KinesisSink;
  readonly metrics: Metrics;
  readonly dataDir: string;
  /** Every event in the data stream, decoded, in shard order. */
  read(): Promise<PipelineEvent[]>;
  readHeartbeats(): Promise<Record<string, unknown>[]>;
}

async function harness(
  t: TestContext,
  endpointFor: (kinesalite: string) => Promise<string>,
  overrides: Partial<KinesisSinkOptions> = {},
  logger = silentLogger(),
): Promise<Harness> {
  const kinesis = await startKinesalite(t);
  await kinesis.createStream('events', 2);
  await kinesis.createStream('heartbeat', 1);
  const metrics = createMetrics();
  const dataDir = tempDir('tf-sink-');
  const sink = new KinesisSink(testSinkOptions(await endpointFor(kinesis.endpoint), overrides), { logger, metrics, dataDir, awsCredentials: TEST_CREDENTIALS });
  t.after(() => sink.close());
  const codec = shippedAvroCodec();
  return {
    sink,
    metrics,
    dataDir,
    read: async () => (await kinesis.readStream('events')).map((r) => codec.decode(r.data)),
    readHeartbeats: async () => (await kinesis.readStream('heartbeat')).map((r) => JSON.parse(r.data.toString('utf8')) as Record<string, unknown>),
  };
}

const sorted = (events: readonly PipelineEvent[]) => events.map((e) => JSON.stringify(e)).sort();

async function counter(
  metric: { get(): Promise<{ values: { labels: Record<string, unknown>; value: number }[] }> },
  labels: Record<string, string>,
): Promise<number> {
  const values = (await metric.get()).values.filter((v) => Object.entries(labels).every(([k, l]) => v.labels[k] === l));
  return values.reduce((n, v) => n + v.value, 0);
}

test('throttled records (ProvisionedThroughputExceeded per record) are retried alone until every record is in the stream exactly once', async (t) => {
  let proxy!: Awaited<ReturnType<typeof startFaultProxy>>;
  const h = await harness(
    t,
    async (upstream) => {
      proxy = await startFaultProxy(t, upstream);
      return proxy.endpoint;
    },
    { maxBatchRecords: 100 },
  );
  proxy.setMode({ kind: 'throttle', every: 3 });
  const events = trades(1_200);
  await h.sink.publish(events);
  await h.sink.flush();
  assert.ok(proxy.stats.throttledRecords >= 400, `every third record throttled at first (${proxy.stats.throttledRecords})`);
  const stored = await h.read();
  assert.equal(stored.length, events.length, 'no record lost, none written twice');
  assert.deepEqual(sorted(stored), sorted(events));
  assert.ok((await counter(h.metrics.sinkFailures, { reason: 'throttled' })) > 0);
  assert.equal(await counter(h.metrics.sinkRecords, { outcome: 'sent' }), events.length);
  assert.equal(await counter(h.metrics.sinkRecords, { outcome: 'dead_letter' }), 0);
  // Only the failed records were sent again: retries equal the throttled count, not whole batches.
  assert.equal(await counter(h.metrics.sinkRecords, { outcome: 'retried' }), proxy.stats.throttledRecords);
});

test('an outage (connections refused) opens the breaker, publish waits once the buffer is full, and after recovery the breaker closes with nothing lost', async (t) => {
  let proxy!: Awaited<ReturnType<typeof startFaultProxy>>;
  const h = await harness(
    t,
    async (upstream) => {
      proxy = await startFaultProxy(t, upstream);
      return proxy.endpoint;
    },
    {
      breakerFailures: 3,
      maxAttempts: 10_000,
      maxBufferedRecords: 300,
      maxBatchRecords: 100,
    },
  );
  const before = trades(200);
  await h.sink.publish(before);
  await h.sink.flush();
  proxy.setMode({ kind: 'refuse' });
  let published = false;
  const more = trades(600, 200);
  const publishing = h.sink.publish(more).then(() => (published = true));
  await waitFor('breaker open', () => h.sink.health().details?.breaker === 'open');
  assert.equal(h.sink.health().state, 'degraded');
  assert.equal(await counter(h.metrics.sinkBreakerState, {}), 2);
  // The kept-alive connection is cut, then every new one is refused.
  assert.ok(proxy.stats.refusedConnections >= 2);
  assert.ok((await counter(h.metrics.sinkFailures, { reason: 'network' })) >= 3);
  // Back-pressure: 600 records do not fit the 300-record buffer while nothing can be sent.
  assert.equal(published, false, 'publish still waiting while the buffer is full');
  proxy.setMode({ kind: 'pass' });
  await publishing;
  await h.sink.flush();
  assert.equal(h.sink.health().details?.breaker, 'closed');
  assert.equal(h.sink.health().state, 'up');
  assert.equal(await counter(h.metrics.sinkBreakerState, {}), 0);
  const stored = await h.read();
  assert.deepEqual(sorted(stored), sorted([...before, ...more]));
  assert.equal(stored.length, 800);
  assert.equal(h.sink.health().details?.deadLetters, 0);
});

test('HTTP 503 from the endpoint counts as an outage and is retried; the stream gets every record in publish order per instrument', async (t) => {
  let proxy!: Awaited<ReturnType<typeof startFaultProxy>>;
  const h = await harness(
    t,
    async (upstream) => {
      proxy = await startFaultProxy(t, upstream);
      return proxy.endpoint;
    },
    { breakerFailures: 2, maxAttempts: 10_000 },
  );
  proxy.setMode({ kind: 'status', status: 503 });
  const events = trades(400);
  await h.sink.publish(events);
  await waitFor('breaker open on 503s', () => h.sink.health().details?.breaker === 'open');
  proxy.setMode({ kind: 'pass' });
  await h.sink.flush();
  const stored = await h.read();
  // Whole calls failed and were resent whole: no record was written out of turn.
  for (const symbol of SYMBOLS) {
    const ids = (list: readonly PipelineEvent[]) => list.filter((e) => e.type === 'trade' && e.symbol === symbol).map((e) => (e as TradeEvent).tradeId);
    assert.deepEqual(ids(stored), ids(events), symbol);
  }
  assert.ok((await counter(h.metrics.sinkFailures, { reason: 'http_5xx' })) >= 2);
});

test('after the last attempt records go to the dead-letter file with their reason, counted; an oversized or unencodable record is a dead letter at once', async (t) => {
  let proxy!: Awaited<ReturnType<typeof startFaultProxy>>;
  const h = await harness(
    t,
    async (upstream) => {
      proxy = await startFaultProxy(t, upstream);
      return proxy.endpoint;
    },
    { maxAttempts: 3, breakerFailures: 1_000 },
  );
  proxy.setMode({ kind: 'status', status: 500 });
  const events = trades(10);
  const huge: PipelineEvent = { type: 'deadLetter', origin: 'binance-ws', reason: 'malformed_json', detail: 'x', raw: 'y'.repeat(1_100_000), receivedAt: 1 };
  // An event type this build's codec has no schema for (a newer producer's): a dead letter, not an exception.
  const unknown = { type: 'fundingRate', exchange: 'binance', market: 'usdm', symbol: 'BTCUSDT', rate: '0.0001' } as unknown as PipelineEvent;
  await h.sink.publish([...events, huge, unknown]);
  await h.sink.flush();
  const lines = readFileSync(deadLetterPath(h.dataDir, 'kinesis'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SinkDeadLetter);
  assert.equal(lines.length, 12);
  assert.deepEqual(
    lines.filter((l) => l.reason === 'encode_failed').map((l) => l.event),
    [unknown],
  );
  const tooLarge = lines.filter((l) => l.reason === 'record_too_large');
  assert.equal(tooLarge.length, 1);
  assert.deepEqual(tooLarge[0]!.event, huge);
  const failed = lines.filter((l) => l.reason === 'http_5xx');
  assert.deepEqual(
    failed.map((l) => l.event),
    events,
  );
  for (const l of failed) {
    assert.equal(l.attempts, 3);
    assert.equal(l.destination, 'events');
    assert.match(l.detail, /HTTP 500/);
    assert.deepEqual(shippedAvroCodec().decode(Buffer.from(l.data, 'base64')), l.event, 'the bytes that would have been sent');
  }
  assert.equal(await counter(h.metrics.sinkDeadLetters, { reason: 'http_5xx' }), 10);
  assert.equal(await counter(h.metrics.sinkDeadLetters, { reason: 'record_too_large' }), 1);
  assert.equal(h.sink.health().details?.deadLetters, 12);
  proxy.setMode({ kind: 'pass' });
  assert.deepEqual(await h.read(), [], 'nothing half-written');
});

test('heartbeat records arrive on the heartbeat stream with the sink counters', async (t) => {
  const h = await harness(t, async (upstream) => upstream, { heartbeatIntervalMs: 50 });
  await h.sink.publish(trades(5));
  await h.sink.flush();
  let beats: Record<string, unknown>[] = [];
  await waitFor('two heartbeats after the flush', async () => {
    beats = (await h.readHeartbeats()).filter((b) => b.sent === 5);
    return beats.length >= 2;
  });
  assert.deepEqual(Object.keys(beats[0]!).sort(), ['at', 'breaker', 'buffered', 'deadLetters', 'sent', 'sink', 'stream', 'type']);
  assert.equal(beats[0]!.type, 'heartbeat');
  assert.equal(beats[0]!.stream, 'events');
  assert.ok((await counter(h.metrics.sinkHeartbeats, { outcome: 'sent' })) >= 2);
});

test('batches respect maxBatchRecords and the batch-size histogram sees them', async (t) => {
  const h = await harness(t, async (upstream) => upstream, { maxBatchRecords: 50, batchMs: 60_000 });
  await h.sink.publish(trades(120));
  // 100 records make two full batches without waiting for batchMs; the 20 left wait for the flush.
  await waitFor('two full batches sent', async () => (await counter(h.metrics.sinkRecords, { outcome: 'sent' })) === 100);
  await h.sink.flush();
  const hist = (await h.metrics.sinkBatchRecords.get()).values;
  assert.equal(hist.find((v) => v.metricName === 'tickflow_sink_batch_records_count')?.value, 3);
  assert.equal(hist.find((v) => v.metricName === 'tickflow_sink_batch_records_sum')?.value, 120);
  assert.equal((await h.read()).length, 120);
});

test('a dead-letter file that cannot be written turns the sink down and keeps the records until it can', async (t) => {
  let proxy!: Awaited<ReturnType<typeof startFaultProxy>>;
  const h = await harness(
    t,
    async (upstream) => {
      proxy = await startFaultProxy(t, upstream);
      return proxy.endpoint;
    },
    { maxAttempts: 1 },
  );
  // A file where the dead-letter folder belongs: mkdir fails (as on a full or read-only disk).
  writeFileSync(join(h.dataDir, 'dead-letters'), 'in the way');
  proxy.setMode({ kind: 'status', status: 500 });
  const events = trades(5);
  const flushed = h.sink.publish(events).then(() => h.sink.flush());
  await waitFor('sink down', () => h.sink.health().state === 'down');
  assert.match(h.sink.health().reason ?? '', /dead-letter file .* not writable/);
  assert.equal(await counter(h.metrics.sinkDeadLetters, {}), 0, 'not counted before written');
  rmSync(join(h.dataDir, 'dead-letters'));
  await flushed;
  const lines = readFileSync(deadLetterPath(h.dataDir, 'kinesis'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SinkDeadLetter);
  assert.deepEqual(
    lines.map((l) => l.event),
    events,
  );
  assert.equal(await counter(h.metrics.sinkDeadLetters, { reason: 'http_5xx' }), 5);
  assert.notEqual(h.sink.health().state, 'down');
});

test('a stream that does not exist: records are dead letters at once (rejected), the breaker stays closed, the sink is degraded', async (t) => {
  const log: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (l: string) => void log.push(l) } });
  const h = await harness(t, async (upstream) => upstream, { streamName: 'no-such-stream', breakerFailures: 1, breakerCooldownMs: 3_600_000 }, logger);
  const events = trades(1_200);
  await h.sink.publish(events);
  await h.sink.flush();
  const lines = readFileSync(deadLetterPath(h.dataDir, 'kinesis'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as SinkDeadLetter);
  assert.equal(lines.length, events.length);
  assert.ok(lines.every((l) => l.reason === 'rejected' && l.attempts === 1 && /ResourceNotFoundException/.test(l.detail)));
  const health = h.sink.health();
  assert.equal(health.details?.breaker, 'closed', 'a refusal is not an outage: with breakerFailures 1 an outage would have opened it');
  assert.equal(health.state, 'degraded');
  assert.match(health.reason ?? '', /refuses the records/);
  assert.equal(await counter(h.metrics.sinkFailures, { reason: 'rejected' }), 3, 'one call per batch of 500');
  // A lasting refusal dead-letters every batch; the log says so once a minute, not once a batch.
  const said = log.map((l) => JSON.parse(l) as { msg: string; reason?: string }).filter((l) => l.msg === 'records dead-lettered');
  assert.deepEqual(
    said.map((l) => l.reason),
    ['rejected'],
  );
});

test('check() at start: a missing data or heartbeat stream and missing credentials are TF_SINK_REJECTED naming what to fix; an unreachable Kinesis is only logged', async (t) => {
  const kinesis = await startKinesalite(t);
  await kinesis.createStream('events', 1);
  await kinesis.createStream('heartbeat', 1);
  const open = (overrides: Partial<KinesisSinkOptions>, credentials: typeof TEST_CREDENTIALS | null = TEST_CREDENTIALS, logger = silentLogger()) => {
    const sink = new KinesisSink(testSinkOptions(kinesis.endpoint, overrides), {
      logger,
      metrics: createMetrics(),
      dataDir: tempDir('tf-sink-'),
      ...(credentials ? { awsCredentials: credentials } : {}),
    });
    t.after(() => sink.close());
    return sink;
  };
  const refused = (what: RegExp) => (err: unknown) => err instanceof TickflowError && err.code === 'TF_SINK_REJECTED' && what.test(err.message);
  await open({}).check();
  await assert.rejects(open({ streamName: 'evnets' }).check(), refused(/stream "evnets".*ResourceNotFoundException/));
  await assert.rejects(open({ heartbeatStreamName: 'hearbeat' }).check(), refused(/stream "hearbeat"/));
  await open({ heartbeatStreamName: '' }).check();

  // The SDK's default chain with nothing to find: no variables, no ~/.aws, no instance metadata.
  const saved = { ...process.env };
  t.after(() => {
    process.env = saved;
  });
  for (const key of Object.keys(process.env)) if (key.startsWith('AWS_')) delete process.env[key];
  Object.assign(process.env, { HOME: tempDir('tf-home-'), AWS_EC2_METADATA_DISABLED: 'true' });
  await assert.rejects(open({}, null).check(), refused(/CredentialsProviderError.*Check the AWS credentials/));
  process.env = saved;

  const log: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (l: string) => void log.push(l) } });
  await open({ endpoint: `http://127.0.0.1:${await freePort()}`, requestTimeoutMs: 2_000 }, TEST_CREDENTIALS, logger).check();
  assert.ok(
    log.some((l) => /Kinesis unreachable at start/.test(l)),
    log.join('\n'),
  );
});
