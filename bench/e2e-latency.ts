/**
 * End-to-end latency, exchange event time → row committed, through the distributed roles:
 * `tickflow simulate` → `tickflow ingest` → Kafka → `tickflow store` → PostgreSQL (a fresh
 * database), each in its own process, default configuration. The simulator's rate steps up
 * (1k, 2.5k, 5k, 10k trades/s in total, via its burst fault); per step, after a settle period,
 * the store role's tickflow_end_to_end_latency_seconds{table="trades"} histogram is scraped at the
 * start and end of the window and p50/p99 are interpolated from the difference of the buckets
 * (commit time is not stored in the table, so the histogram is the only source). A step counts as
 * sustained when ingest produced ≥ 90 % of the offered rate and the store group's lag at the end
 * is under two seconds' worth of records; the steps stop at the first one that is not.
 * Run: `node --import tsx bench/e2e-latency.ts [windowSeconds=20] [settleSeconds=8] [--set key=value …]`;
 * the `--set` flags go to both roles (e.g. `--set bus.lingerMs=20` to measure another setting).
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { kafkaBrokers } from '../test/support/kafka.js';
import { failOnProblems, printMachine } from './support/report.js';
import { sampleProcess, simSourceArgs, startSimProcess } from './support/children.js';
import {
  benchTopics,
  bucketDelta,
  bucketQuantile,
  deleteTopics,
  freshDatabase,
  groupLag,
  groupMembers,
  histogramBuckets,
  metricSum,
  sleep,
  startRole,
} from './support/roles.js';

printMachine('start');
const WINDOW_S = Number(process.argv[2] ?? 20);
const SETTLE_S = Number(process.argv[3] ?? 8);
const EXTRA_SETS = process.argv.slice(4).flatMap((arg, i, all) => (all[i - 1] === '--set' ? ['--set', arg] : []));
const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const RATES = [1_000, 2_500, 5_000, 10_000];
const E2E = 'tickflow_end_to_end_latency_seconds';

interface Step {
  readonly offered: number;
  readonly produced: number;
  readonly stored: number;
  readonly lagAtEnd: number;
  readonly p50: number;
  readonly p99: number;
  /** Exchange time → ingest's receipt (ingestion_timestamp − trade_time) of the window's rows, exact: p50, p99 in ms. */
  readonly toIngest: readonly [number, number];
  readonly observed: number;
  /** CPU µs (all threads) per message of the ingest and the store role over the window. */
  readonly ingestCpuUs: number;
  readonly storeCpuUs: number;
  readonly sustained: boolean;
}

/**
 * p50 and p99 in ms of ingestion_timestamp − trade_time over the trades with a trade time in
 * [fromMs, toMs): the part of the latency spent before ingest holds the frame (the simulator's
 * event loop and socket write, the WebSocket, ingest's own receive), exact from the stored rows.
 */
async function ingestDelay(url: string, fromMs: number, toMs: number): Promise<[number, number]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ p50: number; p99: number }>(
      `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY d) AS p50, percentile_cont(0.99) WITHIN GROUP (ORDER BY d) AS p99
         FROM (SELECT extract(epoch FROM ingestion_timestamp - trade_time)::float8 * 1000 AS d FROM trades
                WHERE trade_time >= to_timestamp($1::float8 / 1000) AND trade_time < to_timestamp($2::float8 / 1000)) AS w`,
      [fromMs, toMs],
    );
    return [Number(rows[0]?.p50 ?? NaN), Number(rows[0]?.p99 ?? NaN)];
  } finally {
    await client.end();
  }
}

const { topics, sets } = benchTopics('e2e');
// A group of this run's own: under the default prefix every store role on the broker (other runs,
// other tests) joins tickflow-store and can leave this run's partitions unassigned.
const groupPrefix = `bench-e2e-${process.pid}-${randomBytes(3).toString('hex')}`;
const group = `${groupPrefix}-store`;
const db = await freshDatabase('e2e');
const sim = await startSimProcess({ symbols: SYMBOLS, tradesPerSecond: RATES[0]! / SYMBOLS.length });
const started: { stop(): Promise<number> }[] = [];
const steps: Step[] = [];
try {
  const store = await startRole('store', ['--db', db.url, '--set', `bus.groupPrefix=${groupPrefix}`, ...sets, ...EXTRA_SETS]);
  started.push(store);
  const ingest = await startRole('ingest', [...simSourceArgs(sim, SYMBOLS, 'trade'), ...sets, ...EXTRA_SETS]);
  started.push(ingest);

  for (const offered of RATES) {
    if (offered !== RATES[0]) {
      // The burst outlasts the step; the next step's burst replaces it.
      await sim.burst(offered / SYMBOLS.length, (SETTLE_S + WINDOW_S + 30) * 1_000);
    }
    await sleep(SETTLE_S * 1_000);
    const [s0, i0] = await Promise.all([store.metrics(), ingest.metrics()]);
    const cpu0 = [sampleProcess(ingest.cli.child.pid!).cpuSeconds, sampleProcess(store.cli.child.pid!).cpuSeconds];
    const t0 = performance.now();
    const windowFrom = Date.now();
    const membersAtStart = await groupMembers(group);
    await sleep(WINDOW_S * 1_000);
    const foreign = Math.max(membersAtStart, await groupMembers(group)) - 1;
    const [s1, i1] = await Promise.all([store.metrics(), ingest.metrics()]);
    const cpu1 = [sampleProcess(ingest.cli.child.pid!).cpuSeconds, sampleProcess(store.cli.child.pid!).cpuSeconds];
    const seconds = (performance.now() - t0) / 1000;
    const windowTo = Date.now();
    const lagAtEnd = await groupLag(group, [topics.trades!]);
    const latency = bucketDelta(histogramBuckets(s1, E2E, 'table="trades"'), histogramBuckets(s0, E2E, 'table="trades"'));
    const produced = (metricSum(i1, 'tickflow_events_produced_total') - metricSum(i0, 'tickflow_events_produced_total')) / seconds;
    const stored = (metricSum(s1, 'tickflow_rows_written_total', 'table="trades"') - metricSum(s0, 'tickflow_rows_written_total', 'table="trades"')) / seconds;
    const step: Step = {
      offered,
      produced,
      stored,
      lagAtEnd,
      p50: bucketQuantile(latency, 0.5),
      p99: bucketQuantile(latency, 0.99),
      toIngest: await ingestDelay(db.url, windowFrom, windowTo),
      observed: latency.get(Infinity) ?? 0,
      ingestCpuUs: ((cpu1[0]! - cpu0[0]!) / (produced * seconds)) * 1e6,
      storeCpuUs: ((cpu1[1]! - cpu0[1]!) / (stored * seconds)) * 1e6,
      sustained: produced >= 0.9 * offered && lagAtEnd < 2 * offered,
    };
    steps.push(step);
    console.log(
      `offered ${offered}/s: produced ${produced.toFixed(0)}/s, stored ${stored.toFixed(0)} rows/s, store lag at end ${lagAtEnd}, ` +
        `e2e p50 ${(step.p50 * 1000).toFixed(0)} ms, p99 ${(step.p99 * 1000).toFixed(0)} ms over ${step.observed} rows ` +
        `(of which exchange → ingest p50 ${step.toIngest[0].toFixed(1)} ms, p99 ${step.toIngest[1].toFixed(1)} ms), ` +
        `CPU per msg ingest ${step.ingestCpuUs.toFixed(1)} µs, store ${step.storeCpuUs.toFixed(1)} µs — ${step.sustained ? 'sustained' : 'NOT sustained'}` +
        (foreign > 0 ? ` (DISTURBED: ${foreign} foreign member(s) in group ${group})` : ''),
    );
    if (!step.sustained) {
      const notable = store.cli
        .stderr()
        .split('\n')
        .filter((l) => /"level":[4-6]\d|assign|revok|rebalanc|join/i.test(l));
      console.log(`store role, last warnings and group events:\n${notable.slice(-15).join('\n')}`);
      break;
    }
  }
} finally {
  for (const role of started.reverse()) await role.stop();
  await sim.stop();
  await deleteTopics(Object.values(topics));
  await db.drop();
}

const best = steps.filter((s) => s.sustained).at(-1);
console.log(
  `simulate → ingest → Kafka (${kafkaBrokers()[0]}) → store → PostgreSQL; ${SYMBOLS.length} symbols, trade stream; window ${WINDOW_S} s after ${SETTLE_S} s settle per step${EXTRA_SETS.length > 0 ? `; ${EXTRA_SETS.join(' ')}` : ''}`,
);
console.log(
  'method: p50/p99 interpolated inside the buckets of the store role\'s tickflow_end_to_end_latency_seconds{table="trades"} (Date.now() after COMMIT − trade time), difference of two scrapes',
);
console.log(
  best
    ? `highest sustained step: ${best.offered} msgs/s (p50 ${(best.p50 * 1000).toFixed(0)} ms, p99 ${(best.p99 * 1000).toFixed(0)} ms)`
    : 'no step was sustained',
);
printMachine('end');
failOnProblems(best ? [] : ['no step was sustained']);
