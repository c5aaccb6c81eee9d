/**
 * tickflow next to what its users would otherwise run, in one run, on one simulator feed, the shared
 * Kafka broker (private topics) and the shared PostgreSQL server (private databases):
 *
 * - ingest, WebSocket → Kafka, one after another on the same feed (4 symbols; trade + aggTrade for
 *   tickflow and the seed pipeline, aggTrade for cryptofeed, whose Binance TRADES channel is that):
 *   `tickflow ingest`, the seed design's Python ingestor (websockets + confluent-kafka) and
 *   cryptofeed with its Kafka backend (bench/peers/). Each climbs a rate ladder
 *   (bench/support/ladder.ts): per step the CPU seconds per 100k messages, and whether the step was
 *   held — every message the simulator delivered is in Kafka (/sim/emitted against the topics' end
 *   offsets), soon after the feed stopped, nobody cut as a slow consumer. A step with loss is a
 *   failure, not a throughput.
 * - store, Kafka → PostgreSQL: `tickflow store` drains the topic tickflow ingest wrote, the seed
 *   consumer (confluent-kafka + psycopg2 execute_values, 500 rows / 2 s) the one the seed ingestor
 *   wrote; rows/s over the same number of rows for both (the smaller backlog), peak RSS, and every
 *   record a row when a backlog was drained whole.
 * - ceilings: Kafka's ProducerPerformance with tickflow's records and producer settings, and
 *   `psql \copy` of the rows tickflow's store wrote into a fresh database.
 *
 * Prints a table with the ratios between them and the load average next to every figure; the full
 * run (or --write) writes it into docs/benchmarks.md, section "Peers, one run (issue 14)".
 *
 *   npm run bench:peers                 full run (~15 min), writes docs/benchmarks.md
 *   npm run bench:peers -- --quick      short ladder and windows (≤ 3 min), prints only
 *
 * Needs Python ≥ 3.11 with pip and PyPI (bench/peers/install.sh makes .tickflow/peers-venv), and the
 * Kafka and PostgreSQL services (scripts/services/*.sh). Exit code 1 when an ingestor or store wrote
 * nothing, a store lost rows, or a ceiling gave no figure.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Admin } from '@platformatic/kafka';
import pg from 'pg';
import { ensureTopics } from '../src/bus/kafka/topics.js';
import { configSchema } from '../src/config/schema.js';
import { silentLogger } from '../src/ops/logger.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/postgres.js';
import { TABLE_WRITES } from '../src/store/rows.js';
import { REPO_ROOT } from '../test/support/data.js';
import { kafkaBrokers } from '../test/support/kafka.js';
import { sampleProcess, sleep, startSimProcess } from './support/children.js';
import { type Ingestor, climbLadder } from './support/ladder.js';
import { installPeers, startPeer } from './support/peers.js';
import { psqlCopyIn, psqlCopyOut, serverUrl } from './support/postgres.js';
import { producerPerformance, topicValues } from './support/producer-performance.js';
import { machine, printMachine } from './support/report.js';
import { benchTopics, deleteTopics, endOffsets, freshDatabase, startRole } from './support/roles.js';
import { type Figure, type IngestResult, type PeerReport, type StoreResult, peersMarkdown, writeDocsSection } from './support/peers-report.js';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    write: { type: 'boolean' },
    symbols: { type: 'string', default: 'BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT' },
  },
});
const QUICK = args.quick;
const WRITE = args.write ?? !QUICK;
const SYMBOLS = args.symbols.split(',');
/** tickflow and the seed pipeline take both trade streams; cryptofeed's Binance TRADES channel is aggTrade only. */
const STREAMS = SYMBOLS.flatMap((s) => [`${s.toLowerCase()}@trade`, `${s.toLowerCase()}@aggTrade`]);
const CRYPTOFEED_STREAMS = SYMBOLS.map((s) => `${s.toLowerCase()}@aggTrade`);
const LADDER = QUICK
  ? { rates: [250, 2_000, 16_000], warmupMs: 2_000, windowMs: 4_000, drainOkMs: 3_000, maxDrainMs: 8_000, refine: false }
  : {
      rates: [250, 500, 1_000, 2_000, 4_000, 8_000, 16_000, 32_000, 64_000, 128_000],
      warmupMs: 3_000,
      windowMs: 15_000,
      drainOkMs: 3_000,
      maxDrainMs: 30_000,
      refine: true,
    };
/** How long a store may drain its backlog; rows/s is measured over what it wrote by then. */
const STORE_CAP_MS = QUICK ? 12_000 : 90_000;
/** Rows the store figures are measured over (fewer when a backlog is smaller or the cap comes first). */
const STORE_ROWS = QUICK ? 40_000 : 300_000;
const PRODUCER_PERFORMANCE_RECORDS = QUICK ? 100_000 : 500_000;
const HOUR_MS = 3_600_000;
const COMMAND = `npm run bench:peers${QUICK ? ' -- --quick' : ''}`;

const bus = configSchema.parse({}).bus;
const run = `bench-peers-${process.pid}-${randomBytes(3).toString('hex')}`;
const problems: string[] = [];
const log = (line: string): void => console.log(line);
const load = (): number => loadavg()[0]!;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');
const sumOffsets = async (topics: readonly string[]): Promise<number> => Number([...(await endOffsets(topics)).values()].flat().reduce((a, b) => a + b, 0n));

async function createTopics(names: readonly string[]): Promise<void> {
  const admin = new Admin({ clientId: 'bench-peers', bootstrapBrokers: kafkaBrokers() });
  try {
    await ensureTopics(admin, names, bus);
  } finally {
    await admin.close();
  }
}

/** An ingestor's ladder, started and stopped around it, with its peak RSS (VmHWM) at the end. */
async function ingestRun(
  name: string,
  streams: readonly string[],
  start: () => Promise<{ pid: number; stop(): Promise<number> }>,
  topics: () => readonly string[],
): Promise<IngestResult> {
  const proc = await start();
  try {
    // Connected before the first step (a feed stalled until then costs nothing and counts nothing).
    for (let i = 0; (await sim.stats()).connections < 1; i++) {
      if (i > 600) throw new Error(`${name} did not connect to the simulator within 60 s`);
      await sleep(100);
    }
    const ingestor: Ingestor = { name, pid: proc.pid, streams, records: () => sumOffsets(topics()) };
    const steps = await climbLadder(ingestor, { sim, symbols: SYMBOLS, ...LADDER }, log);
    return { steps, peakRssMib: sampleProcess(proc.pid).peakRssMib, load: load() };
  } finally {
    await proc.stop();
  }
}

/**
 * A store draining the backlog its ingestor wrote (`expected` records): rows/s and CPU from the first
 * row committed until `measured` rows (the same count for every store), then on until every record
 * is a row (checked: nothing lost) or the cap; peak RSS (VmHWM) over the whole drain.
 */
async function drainRun(
  name: string,
  dbUrl: string,
  expected: number,
  measured: number,
  start: () => Promise<{ pid: number; stop(): Promise<number> }>,
): Promise<StoreResult> {
  const client = new pg.Client({ connectionString: dbUrl });
  const proc = await start();
  await client.connect();
  const count = async (): Promise<number> => {
    // The table appears when the store has migrated (tickflow) or started (the seed consumer).
    const res = await client.query<{ n: string }>('SELECT count(*) AS n FROM trades').catch(() => ({ rows: [{ n: '0' }] }));
    return Number(res.rows[0]?.n ?? 0);
  };
  try {
    const begun = performance.now();
    let first: { at: number; rows: number; cpu: number } | undefined;
    let reached: typeof first;
    let last = { at: begun, rows: 0, cpu: 0 };
    let progressAt = begun;
    while (last.rows < expected && performance.now() - begun < STORE_CAP_MS && performance.now() - progressAt < 30_000) {
      await sleep(500);
      const now = { at: performance.now(), rows: await count(), cpu: sampleProcess(proc.pid).cpuSeconds };
      if (now.rows > last.rows) progressAt = now.at;
      if (first === undefined && now.rows > 0) first = now;
      if (reached === undefined && now.rows >= measured) reached = now;
      last = now;
    }
    const peakRssMib = sampleProcess(proc.pid).peakRssMib;
    const figureLoad = load();
    await proc.stop();
    const rows = await count();
    const complete = rows === expected;
    if (rows === 0) problems.push(`${name} wrote no rows`);
    else if (rows > expected) problems.push(`${name}: ${rows} rows from ${expected} records (rows invented)`);
    else if (!complete && last.rows < expected && performance.now() - progressAt >= 30_000)
      problems.push(`${name}: stuck at ${rows} of ${expected} rows (lost)`);
    // Not there by the cap: measured over what it wrote until then.
    const end = reached ?? last;
    const span = first === undefined ? NaN : (end.at - first.at) / 1000;
    const rate = first === undefined ? NaN : (end.rows - first.rows) / span;
    const cpuPer100k = first === undefined ? NaN : ((end.cpu - first.cpu) / Math.max(1, end.rows - first.rows)) * 100_000;
    log(
      `${name}: ${fmt(rate)} rows/s over its first ${fmt(end.rows)} rows; ${fmt(rows)} of ${fmt(expected)} rows${complete ? ' (all)' : ` when stopped (${STORE_CAP_MS / 1000} s cap)`}, peak RSS ${peakRssMib.toFixed(0)} MiB, load ${figureLoad.toFixed(1)}`,
    );
    return { value: rate, load: figureLoad, rows, backlog: expected, measured: end.rows, complete, peakRssMib, cpuPer100k };
  } finally {
    await proc.stop();
    await client.end();
  }
}

/** psql \copy of the rows tickflow's store wrote, exported as CSV, into a fresh migrated database. */
async function copyCeiling(sourceUrl: string): Promise<Figure & { rows: number }> {
  const trades = TABLE_WRITES.find((w) => w.table === 'trades')!;
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-bench-'));
  const target = await freshDatabase('peers_copy');
  try {
    const file = join(dir, 'trades.csv');
    psqlCopyOut(sourceUrl, `SELECT ${trades.columns.map((c) => `"${c}"`).join(', ')} FROM trades`, file);
    const db = await openPostgres(target.url, { logger: silentLogger() });
    await migrate(db, { logger: silentLogger(), retentionDays: 30 });
    await db.close();
    const seconds = psqlCopyIn(target.url, 'trades', trades.columns, file);
    const rows = Number(execFileSync('psql', [target.url, '-tAc', 'SELECT count(*) FROM trades'], { encoding: 'utf8' }).trim());
    return { value: rows / seconds, load: load(), rows };
  } finally {
    await target.drop();
    await rm(dir, { recursive: true, force: true });
  }
}

const machineStart = machine();
printMachine('start');
const startedAt = new Date();
const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
const python = installPeers();
const server = serverUrl();
log(
  `peers run ${run}: ${QUICK ? 'quick' : 'full'}; Kafka ${kafkaBrokers()[0]}, PostgreSQL ${new URL(server).host}; ${SYMBOLS.length} symbols; python ${python}`,
);

const tickflow = benchTopics('peers');
const seedTopic = `${run}.seed.trades`;
const cryptofeedKey = `${run}.cryptofeed.trades`;
const cryptofeedTopics = SYMBOLS.map((s) => `${cryptofeedKey}-BINANCE-${s.replace(/USDT$/, '')}-USDT`);
const ppTopic = `${run}.producer-performance`;
const sim = await startSimProcess({ symbols: SYMBOLS, tradesPerSecond: 1 });
const databases: { drop(): Promise<void> }[] = [];
let report: PeerReport | undefined;
try {
  await sim.stall(HOUR_MS);
  await createTopics([seedTopic, ...cryptofeedTopics, ppTopic]);
  const wsArgs = ['--ws-url', sim.wsBaseUrl];

  const ingest = {
    tickflow: await ingestRun(
      'tickflow ingest',
      STREAMS,
      async () => {
        const role = await startRole('ingest', [
          '--source',
          'binance',
          ...wsArgs,
          '--rest-url',
          sim.restBaseUrl,
          '--symbols',
          SYMBOLS.join(','),
          '--streams',
          'trade,aggTrade',
          ...tickflow.sets,
        ]);
        return { pid: role.cli.child.pid!, stop: () => role.stop() };
      },
      () => [tickflow.topics.trades!],
    ),
    seed: await ingestRun(
      'seed ingestor',
      STREAMS,
      () =>
        startPeer(python, 'seed_ingest.py', [
          ...wsArgs,
          '--streams',
          STREAMS.join(','),
          '--brokers',
          kafkaBrokers().join(','),
          '--topic',
          seedTopic,
          '--linger-ms',
          String(bus.lingerMs),
          '--batch-bytes',
          String(bus.batchMaxBytes),
        ]),
      () => [seedTopic],
    ),
    cryptofeed: await ingestRun(
      'cryptofeed',
      CRYPTOFEED_STREAMS,
      () =>
        startPeer(python, 'cryptofeed_kafka.py', [
          ...wsArgs,
          '--rest-url',
          sim.restBaseUrl,
          '--symbols',
          SYMBOLS.join(','),
          '--brokers',
          kafkaBrokers().join(','),
          '--topic-key',
          cryptofeedKey,
        ]),
      () => cryptofeedTopics,
    ),
  };
  await sim.stop();

  const tickflowDb = await freshDatabase('peers_tickflow');
  databases.push(tickflowDb);
  const seedDb = await freshDatabase('peers_seed');
  databases.push(seedDb);
  const tickflowRecords = await sumOffsets([tickflow.topics.trades!]);
  const seedRecords = await sumOffsets([seedTopic]);
  // Both stores are measured over the same number of rows: the smaller backlog, at most STORE_ROWS.
  const measured = Math.min(tickflowRecords, seedRecords, STORE_ROWS);
  const store = {
    tickflow: await drainRun('tickflow store', tickflowDb.url, tickflowRecords, measured, async () => {
      const role = await startRole('store', [
        '--db',
        tickflowDb.url,
        ...tickflow.sets,
        '--set',
        'heal.enabled=false',
        '--set',
        'bus.autoOffsetReset=earliest',
        '--set',
        `bus.groupPrefix=${run}`,
      ]);
      return { pid: role.cli.child.pid!, stop: () => role.stop() };
    }),
    seed: await drainRun('seed consumer', seedDb.url, seedRecords, measured, () =>
      startPeer(python, 'seed_consume.py', ['--brokers', kafkaBrokers().join(','), '--topic', seedTopic, '--group', `${run}-seed`, '--dsn', seedDb.url]),
    ),
  };

  const values = await topicValues(tickflow.topics.trades!, 10_000);
  if (values.length === 0) problems.push(`no records read back from ${tickflow.topics.trades}`);
  const pp = await producerPerformance(ppTopic, values, PRODUCER_PERFORMANCE_RECORDS, bus);
  log(`Kafka ProducerPerformance: ${fmt(pp.rate)} records/s (${pp.summary})`);
  if (!(pp.rate > 0)) problems.push(`ProducerPerformance gave no rate: ${pp.summary}`);
  const copy = await copyCeiling(tickflowDb.url);
  log(`psql \\copy: ${fmt(copy.value)} rows/s (${fmt(copy.rows)} rows)`);

  report = {
    command: COMMAND,
    startedAt,
    commit,
    machineStart,
    machineEnd: machine(),
    ladder: LADDER,
    symbols: SYMBOLS,
    ingest,
    store,
    ceilings: { producerPerformance: { value: pp.rate, load: load(), records: PRODUCER_PERFORMANCE_RECORDS }, copy },
  };
  for (const [name, r] of Object.entries(ingest)) if (r.steps.every((s) => s.emitted === 0)) problems.push(`${name}: the simulator delivered nothing`);
} finally {
  await sim.stop();
  await deleteTopics([...Object.values(tickflow.topics), seedTopic, ...cryptofeedTopics, ppTopic]);
  for (const db of databases) await db.drop();
}

const markdown = peersMarkdown(report);
console.log(`\n${markdown}`);
if (WRITE && problems.length === 0) {
  writeDocsSection(join(REPO_ROOT, 'docs', 'benchmarks.md'), markdown);
  log('written to docs/benchmarks.md, section "Peers, one run (issue 14)"');
}
printMachine('end');
if (problems.length > 0) {
  console.error(`BENCH FAILED:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  process.exit(1);
}
