/**
 * Records/s into kinesalite through the Kinesis sink, next to the Kafka sink of the same pipeline
 * (KafkaBus.publish, acks=all) in the same run, over the same trade events. A third row is the
 * raw SDK: pre-encoded PutRecords batches of 500 sent one after the other, as the sink sends them —
 * the ceiling of the sink on this endpoint. kinesalite runs as its own process (like the broker), on
 * an in-memory store, one stream of 4 shards.
 *
 * Run: `bash scripts/services/kafka.sh ensure && node --import tsx bench/kinesis-sink.ts [records=40000]`.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { Admin } from '@platformatic/kafka';
import { CreateStreamCommand, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { KafkaBus } from '../src/bus/kafka/index.js';
import { eventKey, type TradeEvent } from '../src/core/events.js';
import { silentLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { shippedAvroCodec } from '../src/sinks/codecs/avro.js';
import { KinesisSink } from '../src/sinks/kinesis/index.js';
import { REPO_ROOT } from '../test/support/data.js';
import { kafkaBrokers, kafkaBusConfig, uniquePrefix } from '../test/support/kafka.js';
import { kinesisClient, readStream, TEST_CREDENTIALS, testSinkOptions } from '../test/support/kinesis.js';
import { tempDir } from '../test/support/pipeline.js';
import { freePort } from '../test/support/roles.js';
import { syntheticTrade } from './support/synthetic-trades.js';
import { failOnProblems, printComparison, printMachine } from './support/report.js';

const RECORDS = Number(process.argv[2] ?? 40_000);
const CHUNK = 1_000;
/** Publishes in chunks with up to 64 calls in flight (the sink's and bus's publish slow the loop when full). */
async function pump(publish: (events: TradeEvent[]) => Promise<void>, events: readonly TradeEvent[]): Promise<void> {
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < events.length; i += CHUNK) {
    inFlight.push(publish(events.slice(i, i + CHUNK)));
    if (inFlight.length >= 64) await inFlight.shift();
  }
  await Promise.all(inFlight);
}

const rate = (n: number, started: bigint) => n / (Number(process.hrtime.bigint() - started) / 1e9);

async function main(): Promise<void> {
  printMachine('start');
  const problems: string[] = [];
  const events = Array.from({ length: RECORDS }, (_, i) => syntheticTrade(i));

  const port = await freePort();
  const kinesalite = spawn(
    process.execPath,
    [join(REPO_ROOT, 'node_modules', 'kinesalite', 'cli.js'), '--port', String(port), '--createStreamMs', '0', '--shardLimit', '100'],
    { stdio: 'ignore' },
  );
  const endpoint = `http://127.0.0.1:${port}`;
  const client = kinesisClient(endpoint);
  try {
    for (let i = 0; ; i++) {
      try {
        await client.send(new CreateStreamCommand({ StreamName: 'bench-sink', ShardCount: 4 }));
        await client.send(new CreateStreamCommand({ StreamName: 'bench-raw', ShardCount: 4 }));
        break;
      } catch (err) {
        if (i > 100) throw err;
        await new Promise((resolve) => setTimeout(resolve, 100)); // kinesalite still starting
      }
    }

    // 1. The Kinesis sink (Avro, batches of 500, the default batchMs; flush at the end).
    const sink = new KinesisSink(testSinkOptions(endpoint, { streamName: 'bench-sink', heartbeatStreamName: '', batchMs: 1_000, maxBufferedRecords: 50_000 }), {
      logger: silentLogger(),
      metrics: createMetrics(),
      dataDir: tempDir('tf-bench-'),
      awsCredentials: TEST_CREDENTIALS,
    });
    let started = process.hrtime.bigint();
    await pump((batch) => sink.publish(batch), events);
    await sink.flush();
    const sinkRate = rate(RECORDS, started);
    const health = sink.health();
    await sink.close();
    if (health.details?.sent !== RECORDS) problems.push(`sink sent ${String(health.details?.sent)} of ${RECORDS}`);

    // 2. Raw PutRecords of the same records, pre-encoded, 500 per call, sequential (the sink's shape).
    const codec = shippedAvroCodec();
    const encoded = events.map((e) => ({ Data: codec.encode(e), PartitionKey: eventKey(e) }));
    started = process.hrtime.bigint();
    for (let i = 0; i < encoded.length; i += 500) {
      const out = await client.send(new PutRecordsCommand({ StreamName: 'bench-raw', Records: encoded.slice(i, i + 500) }));
      if ((out.FailedRecordCount ?? 0) > 0) problems.push(`raw PutRecords: ${out.FailedRecordCount} failed`);
    }
    const rawRate = rate(RECORDS, started);
    const stored = (await readStream(client, 'bench-sink')).length;
    if (stored !== RECORDS) problems.push(`kinesalite holds ${stored} of ${RECORDS} sink records`);

    // 3. The Kafka sink of the pipeline: KafkaBus.publish (acks=all, lz4), same events.
    const prefix = uniquePrefix('bench-kinesis');
    const config = kafkaBusConfig(prefix);
    const bus = new KafkaBus(config, { logger: silentLogger(), metrics: createMetrics() });
    await bus.start();
    started = process.hrtime.bigint();
    await pump((batch) => bus.publish(batch), events);
    const kafkaRate = rate(RECORDS, started);
    await bus.close();
    const admin = new Admin({ clientId: 'bench-cleanup', bootstrapBrokers: kafkaBrokers() });
    await admin.deleteTopics({ topics: Object.values(config.topics) });
    await admin.close();

    console.log(`records: ${RECORDS} trades, 8 symbols, Avro ${encoded[0]!.Data.length} bytes each; kinesalite 4 shards (in-memory), Kafka 3 partitions`);
    printComparison({
      figure: 'KinesisSink → kinesalite (Avro)',
      value: sinkRate,
      yardstick: 'KafkaBus.publish → Kafka (JSON, acks=all)',
      yardstickValue: kafkaRate,
      unit: 'records/s',
    });
    printComparison({
      figure: 'KinesisSink → kinesalite (Avro)',
      value: sinkRate,
      yardstick: 'raw SDK PutRecords ×500, pre-encoded, sequential',
      yardstickValue: rawRate,
      unit: 'records/s',
    });
  } finally {
    client.destroy();
    kinesalite.kill();
  }
  printMachine('end');
  failOnProblems(problems);
}

await main();
