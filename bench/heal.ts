/**
 * Gap healing and backfill throughput against the simulator's REST API and the PostgreSQL server
 * (scripts/services/postgres.sh), in one run, next to a yardstick from the same run: the bare REST
 * fetch + JSON.parse of the same pages (what no healer can beat).
 *
 * - heal: one trade gap and one aggTrade gap of `ids` ids each in the gaps table, healed by
 *   startHealer (historicalTrades / aggTrades ?fromId=, stored-id check, writeEvents, bus publish),
 *   timed until both rows say healed; REST weight from the pages.
 * - backfill: runBackfill (aggTrade, trade, then the candle build by the processor core) over the
 *   period the simulator traded, into a fresh database.
 *
 *   node --import tsx bench/heal.ts [ids=40000]
 */
import { performance } from 'node:perf_hooks';
import { MemoryBus } from '../src/bus/memory.js';
import { configSchema } from '../src/config/schema.js';
import { runBackfill } from '../src/history/backfill.js';
import { startHealer } from '../src/history/healer.js';
import { createRestClient } from '../src/history/rest-endpoint.js';
import { silentLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { startSimulator } from '../src/simulator/index.js';
import { REST_MARKETS } from '../src/sources/binance/rest-markets.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/postgres.js';
import { serverUrl, withDatabase } from './support/postgres.js';
import { failOnProblems, printComparison, printMachine } from './support/report.js';

const IDS = Number(process.argv[2] ?? 40_000);
const logger = silentLogger();
const rules = REST_MARKETS.spot;
const problems: string[] = [];

async function getJson(url: string): Promise<unknown> {
  return JSON.parse(await (await fetch(url)).text()) as unknown;
}

printMachine('start');
// A limit no run reaches: the figures are healing's own cost, not the budget's pacing (printed apart).
const sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 3, tradesPerSecond: 50, weightLimitPerMinute: 100_000_000, historySize: IDS * 2 });
const rest = `${sim.restBaseUrl}/api/v3`;
sim.faults.burst(5_000, Math.ceil((IDS * 1.3) / 5_000) * 1_000);
const oldest = async (path: string) => ((await getJson(`${rest}/${path}?symbol=BTCUSDT&fromId=0&limit=1`)) as { id?: number; a?: number }[])[0];
const newest = async (path: string) => ((await getJson(`${rest}/${path}?symbol=BTCUSDT&limit=1`)) as { id?: number; a?: number }[])[0];
let first = { trade: 0, aggTrade: 0 };
for (;;) {
  const [t0, t1, a0, a1] = [await oldest('historicalTrades'), await newest('historicalTrades'), await oldest('aggTrades'), await newest('aggTrades')];
  first = { trade: t0?.id ?? 0, aggTrade: a0?.a ?? 0 };
  if ((t1?.id ?? 0) - first.trade >= IDS && (a1?.a ?? 0) - first.aggTrade >= IDS) break;
  await new Promise((resolve) => setTimeout(resolve, 250));
}
const periodFrom = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
const periodTo = Date.now();
console.log(`simulator history: ${IDS.toLocaleString('en-US')} trades and aggTrades per stream from ids ${first.trade} / ${first.aggTrade}`);

// Yardstick: GET + JSON.parse of the same pages, nothing else.
const t = performance.now();
let fetched = 0;
for (let next = first.trade; next < first.trade + IDS; next += rules.historicalTradesPage) {
  const page = (await getJson(`${rest}/historicalTrades?symbol=BTCUSDT&fromId=${next}&limit=${rules.historicalTradesPage}`)) as unknown[];
  fetched += page.length;
}
const yardstick = fetched / ((performance.now() - t) / 1000);

const server = serverUrl();
const metrics = createMetrics();
const config = configSchema.parse({ heal: { pollMs: 50 } });
const healed = await withDatabase(server, async (url) => {
  const db = await openPostgres(url, { logger });
  await migrate(db, { logger, retentionDays: 30 });
  const client = createRestClient({ market: 'spot', restBaseUrl: sim.restBaseUrl, weightLimitPerMinute: 100_000_000 }, config.heal, metrics);
  for (const [stream, id] of [
    ['trade', first.trade],
    ['aggTrade', first.aggTrade],
  ] as const) {
    await db.query(
      `INSERT INTO gaps (exchange, market, symbol, stream, first_missing_id, last_missing_id, detected_at, reason) VALUES ('binance', 'spot', 'BTCUSDT', $1, $2, $3, now(), 'sequence')`,
      [stream, id, id + IDS - 1],
    );
  }
  const bus = new MemoryBus();
  const started = performance.now();
  const healer = startHealer({ config, db, publish: (events) => bus.publish(events), logger, metrics, clients: new Map([['spot', client]]) });
  let rows: { stream: string; status: string | null; rows: number | null }[] = [];
  while (!(rows.length === 2 && rows.every((r) => r.status !== null))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    rows = await db.query('SELECT stream, heal_status AS status, heal_rows::float8 AS rows FROM gaps ORDER BY stream');
  }
  const seconds = (performance.now() - started) / 1000;
  await healer.close();
  for (const r of rows) if (r.status !== 'healed' || r.rows !== IDS) problems.push(`heal: ${r.stream} gap ended ${r.status} with ${r.rows} rows`);
  const [stored] = await db.query<{ n: number }>('SELECT count(*)::float8 AS n FROM trades');
  if (stored?.n !== 2 * IDS) problems.push(`heal: ${stored?.n} rows stored, expected ${2 * IDS}`);
  await db.close();
  return { seconds, rows: 2 * IDS };
});
const weight = (IDS / rules.historicalTradesPage) * rules.historicalTradesWeight + (IDS / rules.aggTradesPage) * rules.aggTradesWeight;
printComparison({
  figure: 'heal (trade + aggTrade gaps: REST, stored-id check, write, publish)',
  value: healed.rows / healed.seconds,
  yardstick: 'GET historicalTrades + JSON.parse of the same pages',
  yardstickValue: yardstick,
  unit: 'ids/s',
});
console.log(
  `REST weight used by the heal: ${weight} (${((weight / healed.rows) * 1_000).toFixed(1)} per 1,000 ids: historicalTrades ${rules.historicalTradesWeight}, aggTrades ${rules.aggTradesWeight} per page of 1,000)`,
);
const budget = Math.floor(rules.weightLimitPerMinute * 0.8 * config.heal.weightShare);
console.log(
  `on Binance spot the default background budget (${budget} weight/min) caps healing at ${Math.round(((budget / rules.historicalTradesWeight) * rules.historicalTradesPage) / 60).toLocaleString('en-US')} trades/s ` +
    `or ${Math.round(((budget / rules.aggTradesWeight) * rules.aggTradesPage) / 60).toLocaleString('en-US')} aggTrades/s`,
);

const backfilled = await withDatabase(server, async (url) => {
  const db = await openPostgres(url, { logger });
  await migrate(db, { logger, retentionDays: 30 });
  const client = createRestClient({ market: 'spot', restBaseUrl: sim.restBaseUrl, weightLimitPerMinute: 100_000_000 }, config.heal, metrics);
  const silent = { start: () => undefined, update: () => undefined, stop: () => undefined };
  const started = performance.now();
  const results = await runBackfill(
    { db, client, processor: config.processor, progress: silent },
    { market: 'spot', symbols: ['BTCUSDT'], streams: ['aggTrade', 'trade'], from: periodFrom, to: periodTo },
  );
  const seconds = (performance.now() - started) / 1000;
  const rows = results.filter((r) => r.stream !== 'candles').reduce((n, r) => n + r.rows, 0);
  const [candles] = await db.query<{ n: number }>("SELECT count(*)::float8 AS n FROM candles WHERE interval = '1m'");
  if (rows < 2 * IDS) problems.push(`backfill: ${rows} rows, expected at least ${2 * IDS}`);
  if ((candles?.n ?? 0) === 0) problems.push('backfill: no candles built');
  await db.close();
  return { seconds, rows };
});
printComparison({
  figure: 'backfill (aggTrade + trade pages with checkpoints, then candles by the processor)',
  value: backfilled.rows / backfilled.seconds,
  yardstick: 'GET historicalTrades + JSON.parse of the same pages',
  yardstickValue: yardstick,
  unit: 'rows/s',
});
await sim.close();
printMachine('end');
failOnProblems(problems);
