import { ErrorCodes, TickflowError } from '../core/errors.js';
import { type AggTradeEvent, type Instrument, type Market, type TradeEvent, tradeIdOf } from '../core/events.js';
import { INTERVAL_MS } from '../processors/candles.js';
import type { ProcessorOptions } from '../processors/processor-core.js';
import type { BinanceRestClient } from '../sources/binance/rest.js';
import { klineEventFromRow } from '../sources/binance/rest-parse.js';
import type { Database } from '../store/database.js';
import { writeEvents } from '../store/writer.js';
import { buildCandles } from './backfill-candles.js';
import { type CheckpointKey, loadCheckpoint, saveCheckpoint } from './checkpoints.js';

const HOUR = 3_600_000;

/** What `tickflow backfill` fetches: every stream of every symbol over [from, to) (epoch ms). */
export interface BackfillPlan {
  readonly market: Market;
  readonly symbols: readonly string[];
  /** `aggTrade`, `trade`, `kline_<interval>` (an interval candles have: 1m, 3m, 5m, 15m, 30m, 1h, 4h, 1d). */
  readonly streams: readonly string[];
  readonly from: number;
  readonly to: number;
}

/** Where a backfill reports how far it got; the CLI draws a progress bar from it. */
export interface BackfillProgress {
  /** A task starts: its label, the length of the period (ms) and how much of it is already behind it (resumed). */
  start(label: string, periodMs: number, coveredMs: number): void;
  /** `coveredMs` of the period done, `rows` stored by this task so far. */
  update(coveredMs: number, rows: number): void;
  stop(): void;
}

/** What backfilling one (symbol, stream) of the period did. */
export interface BackfillTaskResult {
  readonly symbol: string;
  /** A stream, or `candles` (the candle build). */
  readonly stream: string;
  /** Rows stored (for candles: trades folded in). */
  readonly rows: number;
  /** Finished by an earlier run: nothing to do. */
  readonly alreadyDone: boolean;
}

/**
 * What runBackfill works with: the database, the REST client (weight-aware), the processor settings
 * for the candle build, the progress display.
 */
export interface BackfillDeps {
  readonly db: Database;
  readonly client: BinanceRestClient;
  /** config.processor: the candles are built by the processor's own core. */
  readonly processor: Omit<ProcessorOptions, 'tradeStream'>;
  readonly progress: BackfillProgress;
}

/**
 * Checks a plan before anything is fetched.
 * @throws TickflowError TF_CONFIG_INVALID naming the stream or the period.
 */
export function checkPlan(plan: BackfillPlan): void {
  if (!(plan.to > plan.from)) throw new TickflowError(ErrorCodes.CONFIG_INVALID, '--to must be after --from');
  for (const stream of plan.streams) {
    if (stream === 'trade' || stream === 'aggTrade') continue;
    const interval = /^kline_(.+)$/.exec(stream)?.[1];
    if (interval !== undefined && INTERVAL_MS[interval] !== undefined) continue;
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `tickflow backfill cannot fetch "${stream}": expected aggTrade, trade or kline_<interval> with an interval of ${Object.keys(INTERVAL_MS).join(', ')}`,
    );
  }
}

/**
 * `tickflow backfill`: fetches each (symbol, stream) of the plan over REST — aggTrades and trades
 * page by page by id from the first one at `from`, klines page by page by open time — and writes
 * every page through the store writer's idempotent statements in one transaction with its
 * checkpoint (backfill_checkpoints), so a run killed at any point resumes where the database says,
 * and running it twice stores nothing twice. Then the processor's core builds the period's candles
 * (and trade metrics) from the stored trades — trade when the plan has it, else aggTrade — never
 * from the klines, so `tickflow verify` can compare the two. REST requests are background work
 * (heal.weightShare of the weight budget).
 */
export async function runBackfill(deps: BackfillDeps, plan: BackfillPlan): Promise<BackfillTaskResult[]> {
  checkPlan(plan);
  try {
    return await runTasks(deps, plan);
  } finally {
    // A task that failed mid-way (a refused REST answer) leaves its bar running, and the bar's
    // redraw timer kept `tickflow backfill` alive after it had printed the error.
    deps.progress.stop();
  }
}

async function runTasks(deps: BackfillDeps, plan: BackfillPlan): Promise<BackfillTaskResult[]> {
  const results: BackfillTaskResult[] = [];
  for (const symbol of plan.symbols) {
    const instrument: Instrument = { exchange: 'binance', market: plan.market, symbol };
    for (const stream of plan.streams) {
      const key: CheckpointKey = { ...instrument, stream, from: plan.from, to: plan.to };
      results.push(
        await (stream === 'trade' || stream === 'aggTrade' ? fetchTrades(deps, key, stream) : fetchKlines(deps, key, stream.slice('kline_'.length))),
      );
    }
    const tradeStream = plan.streams.includes('trade') ? 'trade' : plan.streams.includes('aggTrade') ? 'aggTrade' : undefined;
    if (tradeStream !== undefined) {
      const key: CheckpointKey = { ...instrument, stream: `candles:${tradeStream}`, from: plan.from, to: plan.to };
      const done = (await loadCheckpoint(deps.db, key))?.done === true;
      let rows = 0;
      if (!done) {
        deps.progress.start(`${symbol} candles`, plan.to - plan.from, 0);
        rows = await buildCandles(deps.db, { ...deps.processor, tradeStream }, { ...instrument, market: plan.market }, plan.from, plan.to, (covered, n) =>
          deps.progress.update(covered, n),
        );
        await saveCheckpoint(deps.db, key, { nextId: null, nextTime: null, done: true });
        deps.progress.stop();
      }
      results.push({ symbol, stream: 'candles', rows, alreadyDone: done });
    }
  }
  return results;
}

/**
 * The first trade (`trade`: the aggTrade's first trade id `f`) or aggTrade id at or after `from`,
 * found with aggTrades by time, an hour per request (Binance refuses longer startTime..endTime):
 * at most one request per hour of the period.
 */
async function firstIdAt(client: BinanceRestClient, symbol: string, kind: 'trade' | 'aggTrade', from: number, to: number): Promise<number | undefined> {
  for (let start = from; start < to; start += HOUR) {
    const page = await client.aggTradesBetweenPage(symbol, start, Math.min(start + HOUR, to) - 1);
    const first = page.items[0];
    if (first !== undefined) return kind === 'trade' ? first.firstTradeId : first.aggTradeId;
  }
  return undefined;
}

async function fetchTrades(deps: BackfillDeps, key: CheckpointKey, kind: 'trade' | 'aggTrade'): Promise<BackfillTaskResult> {
  const { db, client, progress } = deps;
  const result = (rows: number, alreadyDone = false): BackfillTaskResult => ({ symbol: key.symbol, stream: kind, rows, alreadyDone });
  const checkpoint = await loadCheckpoint(db, key);
  if (checkpoint?.done === true) return result(0, true);
  const first = checkpoint?.nextId ?? (await firstIdAt(client, key.symbol, kind, key.from, key.to));
  if (first === undefined) {
    await saveCheckpoint(db, key, { nextId: null, nextTime: null, done: true });
    return result(0);
  }
  const pageSize = kind === 'trade' ? client.rules.historicalTradesPage : client.rules.aggTradesPage;
  progress.start(`${key.symbol} ${kind}`, key.to - key.from, 0);
  let rows = 0;
  let next: number = first;
  // Every page moves `next` past its last id or ends the task, and the period ends it: the loop is
  // bounded by the ids traded in the period.
  for (;;) {
    const page: readonly (TradeEvent | AggTradeEvent)[] = (
      kind === 'trade' ? await client.tradesPage(key.symbol, next) : await client.aggTradesPage(key.symbol, next)
    ).items;
    const from = next;
    const items = page.filter((e) => tradeIdOf(e) >= from && e.tradeTime < key.to);
    const last = page.at(-1);
    const advanced: boolean = last !== undefined && tradeIdOf(last) >= next;
    // A short page is the latest the exchange has; a trade at or past `to` is the period's end.
    const done = last === undefined || !advanced || last.tradeTime >= key.to || page.length < pageSize;
    const nextId: number = last !== undefined && advanced ? tradeIdOf(last) + 1 : next;
    await db.transaction(async (tx) => {
      await writeEvents(tx, items);
      await saveCheckpoint(tx, key, { nextId, nextTime: null, done });
    });
    rows += items.length;
    const reached = items.at(-1)?.tradeTime;
    progress.update(done ? key.to - key.from : reached === undefined ? 0 : reached - key.from, rows);
    if (done) break;
    next = nextId;
  }
  progress.stop();
  return result(rows);
}

async function fetchKlines(deps: BackfillDeps, key: CheckpointKey, interval: string): Promise<BackfillTaskResult> {
  const { db, client, progress } = deps;
  const stream = `kline_${interval}`;
  const checkpoint = await loadCheckpoint(db, key);
  if (checkpoint?.done === true) return { symbol: key.symbol, stream, rows: 0, alreadyDone: true };
  const intervalMs = INTERVAL_MS[interval] as number;
  const start = checkpoint?.nextTime ?? key.from;
  progress.start(`${key.symbol} ${stream}`, key.to - key.from, start - key.from);
  let rows = 0;
  const instrument: Instrument = { exchange: key.exchange, market: key.market, symbol: key.symbol };
  for await (const page of client.klineRange(key.symbol, interval, start, key.to - 1, intervalMs, { priority: 'background' })) {
    const at = Date.now() * 1_000;
    // A kline still open when fetched is not stored: it would be a partial one under the closed kline's key.
    // Nor one outside the period an endpoint answered with: it is not what was asked for.
    const klines = page.items
      .filter((k) => k.openTime >= key.from && k.openTime < key.to && k.closeTime < at / 1_000)
      .map((k) => klineEventFromRow(k, instrument, interval, at));
    const last = page.items.at(-1);
    const nextTime = last === undefined ? key.to : last.openTime + intervalMs;
    await db.transaction(async (tx) => {
      await writeEvents(tx, klines);
      await saveCheckpoint(tx, key, { nextId: null, nextTime, done: false });
    });
    rows += klines.length;
    progress.update(Math.min(nextTime, key.to) - key.from, rows);
  }
  await saveCheckpoint(db, key, { nextId: null, nextTime: key.to, done: true });
  progress.stop();
  return { symbol: key.symbol, stream, rows, alreadyDone: false };
}
