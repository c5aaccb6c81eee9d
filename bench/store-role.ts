/**
 * The store role draining a Kafka backlog: real recorded spot trades (BTCUSDT + ETHUSDT,
 * 2024-08-08/09; each further pass shifted by three days and 10^10 ids, so every pass is new
 * data) pre-filled into a fresh trades topic as ingest writes them (Binance's payload as the value,
 * schema 2), then `tickflow store` (its own process, default
 * configuration, a fresh PostgreSQL database, its own consumer group) writes them all. In the same
 * run, the ceiling: `psql \copy` of the same rows as one CSV file into the same table.
 *
 * The role runs compiled (`npm run build`'s tsc output in dist/, built first by this script), as
 * `tickflow store` runs when installed: under tsx the sources' transpiler alone adds ~45 MiB.
 * The rate runs from the first written row (tickflow_rows_written_total > 0; group join excluded)
 * to the moment every row is in the table and the group's offsets are committed to the end of the
 * topic. RSS is sampled from /proc every 100 ms: once the role runs (idle, before the first
 * row) and its peak over the whole drain. A run in which the table holds a different number of
 * rows than were produced fails.
 * Run: `node --import tsx bench/store-role.ts [rows=200000] [profile]` — `profile` runs the role
 * under `node --cpu-prof` and prints its top self-time functions during the drain.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { TradeEvent } from '../src/core/events.js';
import { REPO_ROOT } from '../test/support/data.js';
import { sampleProcess } from './support/children.js';
import { psqlCopyTrades, serverUrl, withDatabase } from './support/postgres.js';
import { loadRecordedTrades, shiftedTrade } from './support/recorded-trades.js';
import { selfTimes, top } from './profile-summary.js';
import { failOnProblems, printComparison, printMachine } from './support/report.js';
import { benchTopics, deleteTopics, freshDatabase, groupLag, metricSum, prefillTrades, sleep, startRole, type RoleProcess } from './support/roles.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const PROFILE = process.argv[3] === 'profile';
const SHIFT_MS = 3 * 86_400_000;
/** The drain must progress: no new row for this long fails the run. */
const STALL_MS = 60_000;

const recorded = (await loadRecordedTrades()).map((f) => f.event).filter((e): e is TradeEvent => e.type === 'trade');
const events: TradeEvent[] = [];
for (let p = 0; events.length < ROWS; p += 1) {
  for (const e of recorded.slice(0, ROWS - events.length)) events.push(shiftedTrade(e, p, SHIFT_MS));
}

execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'], {
  cwd: REPO_ROOT,
  stdio: 'inherit',
});

/** Top self time of the role's main thread from its first to its last batch write (start-up's module loading left out). */
function printProfile(dir: string): void {
  const file = readdirSync(dir).find((f) => /\.0\.\d+\.cpuprofile$/.test(f)); // thread 0: the event loop
  if (!file) {
    problems.push(`no CPU profile of the role's main thread in ${dir}`);
    return;
  }
  const times = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Parameters<typeof selfTimes>[0], 'writeBatchIsolating');
  console.log(`profile ${join(dir, file)}: ${(times.total / 1e6).toFixed(1)} s sampled from the first to the last batch write`);
  for (const line of top(times.byFunction, times.total, 15)) console.log(`  ${line}`);
}

printMachine('start');
const problems: string[] = [];
// A group of this run's own: the roles' default group is shared by every store role on the broker.
const groupPrefix = `bench-store-${process.pid}-${randomBytes(3).toString('hex')}`;
const group = `${groupPrefix}-store`;
const { topics, sets } = benchTopics('store');
const db = await freshDatabase('store');
const profileDir = PROFILE ? await mkdtemp(join(tmpdir(), 'tickflow-store-prof-')) : undefined;
// startRole profiles the role when BENCH_CPU_PROF_DIR is set (profilingArgs).
if (profileDir) process.env.BENCH_CPU_PROF_DIR = profileDir;
else delete process.env.BENCH_CPU_PROF_DIR;
let role: RoleProcess | undefined;
let peakRssMib = 0;
let idleRssMib = 0;
let sampler: NodeJS.Timeout | undefined;
try {
  await prefillTrades(topics, events);

  const copySeconds = await withDatabase(serverUrl(), (url) => psqlCopyTrades(url, events));

  role = await startRole('store', ['--db', db.url, '--set', 'bus.autoOffsetReset=earliest', '--set', `bus.groupPrefix=${groupPrefix}`, ...sets], 'compiled');
  const pid = role.cli.child.pid!;
  const sample = () => {
    try {
      peakRssMib = Math.max(peakRssMib, sampleProcess(pid).rssMib);
    } catch {
      // the role exited; its last sample stands
    }
  };
  sample();
  idleRssMib = peakRssMib;
  sampler = setInterval(sample, 100);
  const cpuAtStart = sampleProcess(pid).cpuSeconds;

  let t0: number | undefined;
  let rowsAtT0 = 0;
  let rows = 0;
  // What the RSS is made of, at its largest over the scrapes: V8's heap (used, reserved) and Buffers outside it.
  const peak = { heapUsed: 0, heapTotal: 0, external: 0 };
  let lastProgress = Date.now();
  for (;;) {
    const text = await role.metrics();
    const written = metricSum(text, 'tickflow_rows_written_total', 'table="trades"');
    peak.heapUsed = Math.max(peak.heapUsed, metricSum(text, 'tickflow_nodejs_heap_size_used_bytes'));
    peak.heapTotal = Math.max(peak.heapTotal, metricSum(text, 'tickflow_nodejs_heap_size_total_bytes'));
    peak.external = Math.max(peak.external, metricSum(text, 'tickflow_nodejs_external_memory_bytes'));
    if (written > rows) lastProgress = Date.now();
    rows = written;
    if (t0 === undefined && rows > 0) [t0, rowsAtT0] = [performance.now(), rows];
    if (rows >= events.length && (await groupLag(group, [topics.trades!])) === 0) break;
    if (Date.now() - lastProgress > STALL_MS) throw new Error(`store role stalled at ${rows} of ${events.length} rows:\n${role.cli.stderr().slice(-2000)}`);
    // Each scrape costs the role a /metrics answer: often only until the first row.
    await sleep(t0 === undefined ? 50 : 250);
  }
  const seconds = (performance.now() - t0!) / 1000;
  const cpuSeconds = sampleProcess(pid).cpuSeconds - cpuAtStart;
  const ours = (events.length - rowsAtT0) / seconds;
  const copy = events.length / copySeconds;

  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  const stored = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM trades')).rows[0]?.n);
  await client.end();
  if (stored !== events.length) problems.push(`the table holds ${stored} trades, ${events.length} were produced`);

  console.log(`${events.length.toLocaleString('en-US')} real trades pre-filled in ${topics.trades}; store role group ${group}`);
  console.log(
    `tickflow store (Kafka → PostgreSQL): ${Math.round(ours).toLocaleString('en-US')} rows/s (${seconds.toFixed(1)} s from the first row to offsets committed at the end), ${cpuSeconds.toFixed(1)} CPU s`,
  );
  console.log(`psql \\copy of the same rows, one CSV file: ${Math.round(copy).toLocaleString('en-US')} rows/s (${copySeconds.toFixed(1)} s)`);
  const mib = (bytes: number) => Math.round(bytes / 1_048_576);
  console.log(`store role RSS: ${Math.round(idleRssMib)} MiB once running, ${Math.round(peakRssMib)} MiB peak during the drain`);
  console.log(
    `  largest seen in /metrics: V8 heap used ${mib(peak.heapUsed)} MiB of ${mib(peak.heapTotal)} MiB reserved, Buffers outside the heap ${mib(peak.external)} MiB`,
  );
  printComparison({
    figure: 'tickflow store role',
    value: ours,
    yardstick: 'psql \\copy of the same rows, one CSV file',
    yardstickValue: copy,
    unit: 'rows/s',
  });
} finally {
  clearInterval(sampler);
  await role?.stop();
  await deleteTopics(Object.values(topics));
  await db.drop();
}
if (profileDir) printProfile(profileDir);
printMachine('end');
failOnProblems(problems);
