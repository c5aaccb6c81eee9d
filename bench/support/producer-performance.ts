import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, configSchema } from '../../src/config/schema.js';
import { kafkaBrokers, kafkaTool } from '../../test/support/kafka.js';

/** What Kafka's ProducerPerformance printed last, and the rate in it. */
export interface ProducerPerformanceResult {
  /** records/s of its summary line; NaN when it printed none. */
  readonly rate: number;
  /** "300000 records sent, 123456.7 records/sec (23.55 MB/sec), 12.3 ms avg latency, …" */
  readonly summary: string;
}

/**
 * Kafka's own producer (org.apache.kafka.tools.ProducerPerformance, Java) writing `records` records
 * to `topic` as fast as it can, drawing each value from `payloads`, with the producer settings of
 * tickflow's bus: acks=all, idempotence, lz4, the same linger and batch size. The ceiling the
 * produce benchmarks compare with.
 */
export async function producerPerformance(
  topic: string,
  payloads: readonly string[],
  records: number,
  bus: Pick<Config['bus'], 'lingerMs' | 'batchMaxBytes'> = configSchema.parse({}).bus,
): Promise<ProducerPerformanceResult> {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-bench-'));
  try {
    const file = join(dir, 'payloads.jsonl');
    writeFileSync(file, `${payloads.join('\n')}\n`);
    const out = await kafkaTool('org.apache.kafka.tools.ProducerPerformance', [
      '--topic',
      topic,
      '--num-records',
      String(records),
      '--payload-file',
      file,
      '--throughput',
      '-1',
      '--producer-props',
      `bootstrap.servers=${kafkaBrokers()[0]}`,
      'acks=all',
      'enable.idempotence=true',
      'compression.type=lz4',
      `linger.ms=${bus.lingerMs}`,
      `batch.size=${bus.batchMaxBytes}`,
    ]);
    const summary = out.trim().split('\n').at(-1) ?? '';
    return { rate: Number(/records sent, ([\d.]+) records\/sec/.exec(summary)?.[1] ?? NaN), summary };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Up to `max` record values of `topic` from its start, as text (Kafka's console consumer, 20 s at most). */
export async function topicValues(topic: string, max: number): Promise<string[]> {
  const dump = await kafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server',
    kafkaBrokers()[0]!,
    '--topic',
    topic,
    '--from-beginning',
    '--max-messages',
    String(max),
    '--timeout-ms',
    '20000',
  ]);
  return dump.split('\n').filter((l) => l.startsWith('{'));
}
