/**
 * Store writer throughput against the real PostgreSQL server (scripts/services/postgres.sh), in one
 * run: (1) the writer path — MemoryBus → startStoreWriter → unnest INSERT … ON CONFLICT DO NOTHING,
 * one transaction per batch, offsets committed after each; (2) the alternative the writer could use
 * on a server — COPY each batch into a temporary staging table, then INSERT … SELECT … ON CONFLICT;
 * (3) the ceiling — `psql \copy` of the same rows as one CSV file into the same table.
 *
 *   node --import tsx bench/store-write.ts [rows=200000] [batchRows=500]
 */
import { failOnProblems, printComparison, printMachine } from './support/report.js';
import { psqlCopyTrades, serverUrl, tradesCsv, withDatabase } from './support/postgres.js';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { MemoryBus } from '../src/bus/memory.js';
import { configSchema } from '../src/config/schema.js';
import type { TradeEvent } from '../src/core/events.js';
import { HealthRegistry } from '../src/ops/health.js';
import { silentLogger } from '../src/ops/logger.js';
import { createMetrics } from '../src/ops/metrics.js';
import { migrate } from '../src/store/migrate.js';
import { openPostgres } from '../src/store/postgres.js';
import { TABLE_WRITES } from '../src/store/rows.js';
import { startStoreWriter } from '../src/store/writer.js';

const ROWS = Number(process.argv[2] ?? 200_000);
const BATCH = Number(process.argv[3] ?? 500);
const logger = silentLogger();
const trades = TABLE_WRITES.find((w) => w.table === 'trades')!;

/** Real BTCUSDT trade prices and sizes (a fixed sample), stretched to ROWS with fresh ids and times. */
function makeTrades(): TradeEvent[] {
  const prices = ['61837.63000000', '61837.64000000', '61836.01000000', '61840.00000000', '61829.99000000'];
  const quantities = ['0.02000000', '0.00016000', '0.13000000', '1.54698000', '0.00500000'];
  return Array.from({ length: ROWS }, (_, i) => ({
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol: i % 2 === 0 ? 'BTCUSDT' : 'ETHUSDT',
    eventTime: Date.now() - 60_000 + (i % 60_000),
    ingestionTimestamp: (Date.now() - 60_000) * 1000 + i,
    tradeId: 3_735_683_259 + i,
    price: prices[i % prices.length]!,
    quantity: quantities[i % quantities.length]!,
    tradeTime: Date.now() - 60_000 + (i % 60_000),
    buyerIsMaker: i % 3 === 0,
  }));
}

async function writerPath(url: string, events: readonly TradeEvent[]): Promise<number> {
  const db = await openPostgres(url, { logger });
  await migrate(db, { logger, retentionDays: 30 });
  const bus = new MemoryBus();
  const config = configSchema.parse({ store: { url, batchRows: BATCH, batchMs: 1_000 } });
  const writer = await startStoreWriter({ config, bus, db, logger, metrics: createMetrics(), health: new HealthRegistry() });
  const started = performance.now();
  for (let i = 0; i < events.length; i += 5_000) await bus.publish(events.slice(i, i + 5_000));
  await bus.drain();
  await writer.flush();
  const seconds = (performance.now() - started) / 1000;
  if (writer.stats().rowsInserted !== events.length) throw new Error(`writer inserted ${writer.stats().rowsInserted} of ${events.length}`);
  await writer.close();
  await bus.close();
  await db.close();
  return seconds;
}

async function copyStaging(url: string, events: readonly TradeEvent[]): Promise<number> {
  const db = await openPostgres(url, { logger });
  await migrate(db, { logger, retentionDays: 30 });
  await db.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const cols = trades.columns.map((c) => `"${c}"`).join(', ');
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    await client.query('BEGIN');
    await client.query('CREATE TEMP TABLE stage (LIKE trades) ON COMMIT DROP');
    await pipeline(Readable.from([tradesCsv(events.slice(i, i + BATCH))]), client.query(copyFrom(`COPY stage (${cols}) FROM STDIN (FORMAT csv)`)));
    await client.query(`INSERT INTO trades (${cols}) SELECT ${cols} FROM stage ON CONFLICT DO NOTHING`);
    await client.query('COMMIT');
  }
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await client.query<{ n: string }>('SELECT count(*) AS n FROM trades');
  await client.end();
  if (Number(rows[0]?.n) !== events.length) throw new Error('staging path lost rows');
  return seconds;
}

/** The writer's statement without the writer around it (bus, metrics, commits), for a like-for-like comparison with staging. */
async function unnestOnly(url: string, events: readonly TradeEvent[]): Promise<number> {
  const db = await openPostgres(url, { logger });
  await migrate(db, { logger, retentionDays: 30 });
  const started = performance.now();
  for (let i = 0; i < events.length; i += BATCH) {
    const batch = events.slice(i, i + BATCH);
    await db.transaction((tx) => tx.query(trades.sql, trades.params(batch)));
  }
  const seconds = (performance.now() - started) / 1000;
  await db.close();
  return seconds;
}

printMachine('start');
const server = serverUrl();
const events = makeTrades();
const report = (label: string, seconds: number) => {
  const rate = ROWS / seconds;
  console.log(`${label.padEnd(44)} ${seconds.toFixed(2).padStart(7)} s ${Math.round(rate).toLocaleString('en-US').padStart(10)} rows/s`);
  return rate;
};
console.log(`store-write: ${ROWS.toLocaleString('en-US')} trades, batches of ${BATCH}, PostgreSQL at ${new URL(server).host}`);
const writer = report('writer (bus → unnest INSERT, commit per batch)', await withDatabase(server, (url) => writerPath(url, events)));
const unnest = report('unnest INSERT per batch, no bus', await withDatabase(server, (url) => unnestOnly(url, events)));
const staging = report('COPY into staging + INSERT, per batch', await withDatabase(server, (url) => copyStaging(url, events)));
const copy = report('psql \\copy, one CSV file', await withDatabase(server, (url) => psqlCopyTrades(url, events)));
console.log(`writer / psql \\copy = ${(writer / copy).toFixed(2)}; COPY staging / unnest = ${(staging / unnest).toFixed(2)}`);
printComparison({
  figure: 'writer (bus → unnest INSERT)',
  value: writer,
  yardstick: 'psql \\copy of the same rows, one CSV file',
  yardstickValue: copy,
  unit: 'rows/s',
});
printMachine('end');
failOnProblems(writer > 0 && copy > 0 ? [] : ['a path wrote nothing']);
