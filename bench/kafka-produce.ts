/**
 * Produce throughput of KafkaBus next to Kafka's own ProducerPerformance tool, same broker, same
 * records (~200-byte trade JSON, written to a payload file the Java tool draws from), acks=all,
 * lz4, same linger and batch size. Run: `node --import tsx bench/kafka-produce.ts [records]`
 * after `bash scripts/services/kafka.sh ensure`. Prints both rates and their ratio.
 */
import { failOnProblems, printComparison, printMachine } from './support/report.js';
import { producerPerformance } from './support/producer-performance.js';
import { syntheticTrade } from './support/synthetic-trades.js';
import { Admin } from '@platformatic/kafka';
import { KafkaBus } from '../src/bus/kafka/index.js';
import { silentLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { kafkaBrokers, kafkaBusConfig, uniquePrefix } from '../test/support/kafka.js';

const RECORDS = Number(process.argv[2] ?? 300_000);
const CHUNK = 1_000;
async function main(): Promise<void> {
  printMachine('start');
  const prefix = uniquePrefix('bench');
  const config = kafkaBusConfig(prefix);
  const bus = new KafkaBus(config, { logger: silentLogger(), metrics: createMetrics() });
  await bus.start();
  const events = Array.from({ length: RECORDS }, (_, i) => syntheticTrade(i));
  const avgBytes = events.slice(0, 1_000).reduce((n, e) => n + JSON.stringify(e).length, 0) / 1_000;

  // Keep the bus's buffer full: publish() itself slows the loop down when it is.
  const started = process.hrtime.bigint();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < events.length; i += CHUNK) {
    inFlight.push(bus.publish(events.slice(i, i + CHUNK)));
    if (inFlight.length >= 64) await inFlight.shift();
  }
  await Promise.all(inFlight);
  const ours = RECORDS / (Number(process.hrtime.bigint() - started) / 1e9);
  await bus.close();

  const payloads = events.slice(0, 10_000).map((e) => JSON.stringify(e));
  const { rate: java, summary } = await producerPerformance(config.topics.bookTicker, payloads, RECORDS, config);

  const admin = new Admin({ clientId: 'bench-cleanup', bootstrapBrokers: kafkaBrokers() });
  await admin.deleteTopics({ topics: Object.values(config.topics) });
  await admin.close();

  console.log(
    `records: ${RECORDS}, average value ${avgBytes.toFixed(0)} bytes, acks=all, lz4, linger ${config.lingerMs} ms, batch ${config.batchMaxBytes} bytes`,
  );
  console.log(`KafkaBus (@platformatic/kafka):      ${ours.toFixed(0)} msgs/s`);
  console.log(`Kafka ProducerPerformance (Java):    ${java.toFixed(0)} msgs/s`);
  console.log(`java summary: ${summary}`);
  printComparison({
    figure: 'KafkaBus (@platformatic/kafka)',
    value: ours,
    yardstick: 'Kafka ProducerPerformance (Java), same records and settings',
    yardstickValue: java,
    unit: 'msgs/s',
  });
  printMachine('end');
  failOnProblems([...(ours > 0 ? [] : ['KafkaBus produced nothing']), ...(java > 0 ? [] : [`ProducerPerformance gave no rate: ${summary}`])]);
}

await main();
