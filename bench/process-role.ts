/**
 * Events/s of the stream processor inside `tickflow process` (its own process, default
 * configuration, a fresh PostgreSQL database), consuming a Kafka topic pre-filled with real
 * recorded spot trades as ingest writes them (Binance's payload as the value, Kafka schema 2;
 * BTCUSDT + ETHUSDT, 2024-08-08/09; each further pass shifted by 15 minutes and 10^10 ids, so
 * every pass is new data), next to the pure ProcessorCore number from
 * bench/processor-core.ts run in the same run (as a child process, alone on its event loop).
 *
 * The processor commits only below the oldest event still held in an open window, so the group's
 * lag never reaches 0 by design. One sentinel trade per symbol, a day after the data, closes every
 * window: once the committed offsets reach the sentinels (lag = number of symbols), every real
 * event has been folded in and its rows are durable. The clock runs from the first delivered batch
 * (tickflow_processing_latency_seconds_count > 0) to that point; group join time is excluded.
 * Run: `node --import tsx bench/process-role.ts [passes=4]`.
 */
import { execFile } from 'node:child_process';
import { failOnProblems, printComparison, printMachine } from './support/report.js';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import type { TradeEvent } from '../src/core/events.js';
import { REPO_ROOT } from '../test/support/data.js';
import { loadRecordedTrades, shiftedTrade } from './support/recorded-trades.js';
import { sampleProcess } from './support/children.js';
import { benchTopics, deleteTopics, freshDatabase, groupLag, groupMembers, metricSum, prefillTrades, sleep, startRole } from './support/roles.js';

const PASSES = Number(process.argv[2] ?? 4);
// The recording spans 11 minutes (23:54–00:05): each pass starts 15 minutes after the previous one,
// so the role fills a few empty 1-minute windows between passes (as the core bench, one fresh core
// per pass, fills none). Three days apart, each gap was maxFillWindows empty windows per interval
// with indicators — 20,000 extra rows the yardstick never computed.
const SHIFT_MS = 15 * 60_000;
// A group of this run's own: another run's role on the same broker cannot join it and stall it.
const GROUP_PREFIX = `bench-${process.pid}`;
const GROUP = `${GROUP_PREFIX}-process`;
const TIMEOUT_MS = 150_000;

const trades = (await loadRecordedTrades()).map((f) => f.event).filter((e): e is TradeEvent => e.type === 'trade');
const events: TradeEvent[] = [];
for (let p = 0; p < PASSES; p += 1) {
  for (const e of trades) events.push(shiftedTrade(e, p, SHIFT_MS));
}
const symbols = [...new Set(trades.map((e) => e.symbol))];
const last = events.reduce((m, e) => Math.max(m, e.tradeTime), 0);
const sentinels: TradeEvent[] = symbols.map((symbol, i) => {
  const template = events.findLast((e) => e.symbol === symbol)!;
  const t = last + 86_400_000;
  return { ...template, eventTime: t, tradeTime: t, ingestionTimestamp: t * 1000, tradeId: template.tradeId + 1 + i };
});

// The pure core, measured first and alone so neither run competes with the other.
const core = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'bench', 'processor-core.ts'), '3'], {
  cwd: REPO_ROOT,
  maxBuffer: 1 << 20,
});
const figure = (label: string): number => Number(new RegExp(`${label}:\\s+([\\d,]+) events/s`).exec(core.stdout)?.[1]?.replaceAll(',', '') ?? NaN);
const coreRate = figure('processor core \\(pre-parsed events\\)');
const coreCpuRate = figure('processor core per CPU second');

printMachine('start');
const problems: string[] = [];
const { topics, sets } = benchTopics('process');
const db = await freshDatabase('process');
let role: Awaited<ReturnType<typeof startRole>> | undefined;
try {
  await prefillTrades(topics, events, sentinels);

  role = await startRole('process', [
    '--db',
    db.url,
    '--set',
    `source.symbols=${symbols.join(',')}`,
    '--streams',
    'trade',
    '--set',
    'bus.autoOffsetReset=earliest',
    '--set',
    `bus.groupPrefix=${GROUP_PREFIX}`,
    ...sets,
  ]);
  const commitsAtStart = await xactCommits(db.url);
  const deadline = Date.now() + TIMEOUT_MS;
  let t0: number | undefined;
  let cpu0 = 0;
  let lag = Infinity;
  let foreign = 0;
  while (lag > sentinels.length) {
    if (Date.now() > deadline) throw new Error(`processor still ${lag} records behind after ${TIMEOUT_MS / 1000} s:\n${role.cli.stderr().slice(-2000)}`);
    if (t0 === undefined) {
      if (metricSum(await role.metrics(), 'tickflow_processing_latency_seconds_count') > 0) {
        t0 = performance.now();
        cpu0 = sampleProcess(role.cli.child.pid!).cpuSeconds;
      } else await sleep(50);
      continue;
    }
    // Polled every 50 ms: each round opens three admin connections, which a tight loop would make a load of its own.
    await sleep(50);
    [lag, foreign] = await Promise.all([groupLag(GROUP, [topics.trades!]), groupMembers(GROUP).then((n) => Math.max(foreign, n - 1))]);
  }
  const seconds = (performance.now() - t0!) / 1000;
  const cpuSeconds = sampleProcess(role.cli.child.pid!).cpuSeconds - cpu0;
  const metrics = await role.metrics();
  const busySeconds = metricSum(metrics, 'tickflow_processing_latency_seconds_sum');
  const batches = metricSum(metrics, 'tickflow_processing_latency_seconds_count');
  const rows = metricSum(metrics, 'tickflow_rows_written_total');
  const ours = events.length / seconds;

  console.log(
    `${events.length} real trades (${trades.length} × ${PASSES} passes, ${symbols.join('+')}) + ${sentinels.length} sentinels pre-filled in ${topics.trades}; node ${process.version}`,
  );
  console.log(
    `tickflow process (Kafka → core → PostgreSQL): ${Math.round(ours).toLocaleString('en-US')} events/s  (${seconds.toFixed(1)} s from first batch to committed offsets at the sentinels)`,
  );
  // The role's backend reports its transaction count when it exits (pg_stat_database).
  await role.stop();
  role = undefined;
  const transactions = (await xactCommits(db.url)) - commitsAtStart;
  console.log(
    `  inside onDeliveries (core; writes and commits run behind it): ${busySeconds.toFixed(1)} s over ${batches} batches, ${rows} rows written in ~${transactions} transactions`,
  );
  console.log(`processor core alone (bench/processor-core.ts 3): ${coreRate.toLocaleString('en-US')} events/s`);
  console.log(
    `tickflow process per CPU second of the role process (all its threads): ${Math.round(events.length / cpuSeconds).toLocaleString('en-US')} events  (${cpuSeconds.toFixed(1)} CPU s)`,
  );
  console.log(
    `processor core alone per CPU second: ${coreCpuRate.toLocaleString('en-US')} events  → ratio per CPU second ${(events.length / cpuSeconds / coreCpuRate).toFixed(3)} (the load-independent figure)`,
  );
  printComparison({
    figure: 'tickflow process role',
    value: ours,
    yardstick: 'processor core alone (bench/processor-core.ts 3)',
    yardstickValue: coreRate,
    unit: 'events/s',
  });
  if (foreign > 0)
    console.log(`WARNING: ${foreign} foreign member(s) joined group ${GROUP} during the run (another run on this broker); numbers are disturbed`);
  problems.push(...(rows > 0 ? [] : ['the process role wrote no rows']), ...(coreRate > 0 ? [] : ['processor-core.ts gave no rate']));
} finally {
  await role?.stop();
  await deleteTopics(Object.values(topics));
  await db.drop();
}
printMachine('end');
failOnProblems(problems);

/** Transactions committed so far in the database of `url` (pg_stat_database; a backend reports its own at the latest when it exits). */
async function xactCommits(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = current_database()');
    return Number(rows[0]?.n ?? NaN);
  } finally {
    await client.end();
  }
}
