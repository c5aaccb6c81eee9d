/**
 * Produce throughput of `tickflow ingest` fed by `tickflow simulate` at full speed (each in its own
 * process), next to Kafka's own ProducerPerformance in the same run, on the same broker, with the
 * records ingest wrote as its payloads (so the same size), acks=all, lz4. The rate is the ingest
 * role's tickflow_events_produced_total over a window after warm-up.
 * Run: `node --import tsx bench/ingest-produce.ts [seconds=30] [tradesPerSecondPerSymbol=25000]`.
 *
 * Fails (exit 1) when ingest wrote nothing, when the topic holds fewer records than ingest counted
 * as produced (lost inside tickflow), or when ProducerPerformance gave no rate. Offered more than
 * ingest takes, the simulator cuts it as a slow consumer (as Binance does): the reconnects and the
 * trade ids that cost are printed, not a failure — the figure is ingest's ceiling.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configSchema } from '../src/config/schema.js';
import { REPO_ROOT } from '../test/support/data.js';
import { kafkaBrokers, kafkaTool } from '../test/support/kafka.js';
import { sampleProcess } from './support/children.js';
import { failOnProblems, printComparison, printMachine } from './support/report.js';
import { benchTopics, deleteTopics, endOffsets, metricSum, sleep, startRole } from './support/roles.js';
import { startSimProcess } from './support/children.js';

const SECONDS = Number(process.argv[2] ?? 30);
const RATE = Number(process.argv[3] ?? 25_000);
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT'];
const WARMUP_MS = 5_000;

// kafka.sh keeps the broker's pid in its home (TICKFLOW_KAFKA_DIR when a private broker runs).
const BROKER_PID = join(process.env.TICKFLOW_KAFKA_DIR ?? join(REPO_ROOT, '.tickflow', 'kafka'), 'broker.pid');

/** CPU seconds used so far by each named process (where its pid is known). */
function cpu(pids: Record<string, number | undefined>): Record<string, number> {
  return Object.fromEntries(Object.entries(pids).flatMap(([name, pid]) => (pid === undefined ? [] : [[name, sampleProcess(pid).cpuSeconds]])));
}

printMachine('start');
const problems: string[] = [];
const { topics, sets } = benchTopics('ingest');
const bus = configSchema.parse({}).bus;
const sim = await startSimProcess({ symbols: SYMBOLS, tradesPerSecond: RATE });
try {
  const ingest = await startRole('ingest', ['--source', 'binance', '--ws-url', sim.wsBaseUrl, '--rest-url', sim.restBaseUrl, '--symbols', SYMBOLS.join(','), '--streams', 'trade', ...sets]);
  const produced = async (): Promise<number> => metricSum(await ingest.metrics(), 'tickflow_events_produced_total');
  const pids = { simulator: sim.pid, ingest: ingest.cli.child.pid, broker: existsSync(BROKER_PID) ? Number(readFileSync(BROKER_PID, 'utf8')) : undefined };
  await sleep(WARMUP_MS);
  const before = await produced();
  const cpu0 = cpu(pids);
  const t0 = performance.now();
  await sleep(SECONDS * 1_000);
  const elapsed = (performance.now() - t0) / 1000;
  const ours = ((await produced()) - before) / elapsed;
  const cpu1 = cpu(pids);
  const cores = Object.entries(cpu1).map(([name, s]) => `${name} ${((s - (cpu0[name] ?? 0)) / elapsed).toFixed(2)}`).join(', ');
  const final = await ingest.metrics();
  const reconnects = metricSum(final, 'tickflow_websocket_reconnects_total');
  const producedTotal = metricSum(final, 'tickflow_events_produced_total');
  const missing = metricSum(final, 'tickflow_gap_missing_ids_total');
  await ingest.stop();
  await sim.stop();

  const written = Number((await endOffsets([topics.trades!])).get(topics.trades!)?.reduce((a, b) => a + b, 0n) ?? 0n);
  console.log(`tickflow ingest: ${ours.toFixed(0)} msgs/s; ${written} records in the topic; ${reconnects} reconnects, ${missing} trade ids missed`);
  // Thrown: the finally below still stops the simulator and deletes the topics, then exit code 1.
  if (written === 0) throw new Error(`ingest wrote nothing:\n${ingest.cli.stderr().slice(-3000)}`);
  if (written < producedTotal) problems.push(`ingest counted ${producedTotal} trades produced, the topic holds ${written}`);
  // The payloads are the very records ingest wrote: same JSON, same size.
  const dump = await kafkaTool('org.apache.kafka.tools.consumer.ConsoleConsumer', [
    '--bootstrap-server', kafkaBrokers()[0]!, '--topic', topics.trades!, '--from-beginning', '--max-messages', '10000', '--timeout-ms', '20000',
  ]);
  const values = dump.split('\n').filter((l) => l.startsWith('{'));
  if (values.length === 0) throw new Error(`no records read back from ${topics.trades}:\n${dump.slice(0, 2000)}`);
  const avgBytes = values.reduce((n, v) => n + Buffer.byteLength(v), 0) / values.length;
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-bench-'));
  const payloads = join(dir, 'trades.jsonl');
  writeFileSync(payloads, `${values.join('\n')}\n`);
  const records = Math.max(100_000, Math.min(written, 1_000_000));
  const out = await kafkaTool('org.apache.kafka.tools.ProducerPerformance', [
    '--topic', topics.bookTicker!, '--num-records', String(records), '--payload-file', payloads, '--throughput', '-1',
    '--producer-props', `bootstrap.servers=${kafkaBrokers()[0]}`, 'acks=all', 'enable.idempotence=true', 'compression.type=lz4',
    `linger.ms=${bus.lingerMs}`, `batch.size=${bus.batchMaxBytes}`,
  ]);
  rmSync(dir, { recursive: true, force: true });
  const summary = out.trim().split('\n').at(-1) ?? '';
  const java = Number(/records sent, ([\d.]+) records\/sec/.exec(summary)?.[1] ?? NaN);

  console.log(`simulator: ${SYMBOLS.length} symbols × ${RATE} trades/s offered; ingest window ${SECONDS} s after ${WARMUP_MS / 1000} s warm-up; ${written} records in the topic`);
  console.log(`records: average value ${avgBytes.toFixed(0)} bytes (${values.length} sampled from the topic), acks=all, lz4, linger ${bus.lingerMs} ms, batch ${bus.batchMaxBytes} bytes`);
  console.log(`tickflow ingest (simulator → Kafka): ${ours.toFixed(0)} msgs/s  (${reconnects} reconnects, ${missing} trade ids missed by the simulator's slow-client handling)`);
  console.log(`Kafka ProducerPerformance (Java):    ${java.toFixed(0)} msgs/s  (${records} records)`);
  console.log(`cores used during the ingest window: ${cores}`);
  console.log(`java summary: ${summary}`);
  if (!(java > 0)) problems.push(`ProducerPerformance gave no rate: ${summary}`);
  printComparison({ figure: 'tickflow ingest (simulator → Kafka)', value: ours, yardstick: `Kafka ProducerPerformance (Java), ${records} records of the same payloads`, yardstickValue: java, unit: 'msgs/s' });
} finally {
  await sim.stop();
  await deleteTopics(Object.values(topics));
}
printMachine('end');
failOnProblems(problems);
