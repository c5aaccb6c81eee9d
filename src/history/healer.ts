import type { Config } from '../config/schema.js';
import { ErrorCodes, errorMessage, TickflowError } from '../core/errors.js';
import { type AggTradeEvent, type PipelineEvent, type TradeEvent, tradeIdOf } from '../core/events.js';
import { sleep } from '../core/retry.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { BinanceRestClient, WeightStatus } from '../sources/binance/rest.js';
import type { Database } from '../store/database.js';
import { writeEvents } from '../store/writer.js';
import { type GapToHeal, gapKey, gapsToHeal, type HealOutcome, type HealStatus, recordHeal, storedIds } from './gap-rows.js';

/**
 * What the healer works with: config (heal.*), the database (the gaps table is its queue), where
 * healed rows go, logger, metrics, the REST client per market.
 */
export interface HealerDeps {
  readonly config: Config;
  readonly db: Database;
  /** Where healed rows go after they are stored: the bus (the processor corrects their windows), and the sinks where the process has them. */
  readonly publish: (events: readonly PipelineEvent[]) => Promise<void>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * The process's REST client per market (pipeline/rest-clients.ts: one weight budget shared with
   * the book's snapshots); a gap of a market without one stays unhealed.
   */
  readonly clients: ReadonlyMap<string, BinanceRestClient>;
}

/** What /api/pipeline and the dashboard show of healing. */
export interface HealReport {
  readonly enabled: boolean;
  /** Gaps in the queue, the one being healed included. */
  readonly queued: number;
  /** Outcomes since this process started. */
  readonly healed: number;
  readonly partial: number;
  readonly failed: number;
  /** Trades/aggTrades fetched and stored since this process started. */
  readonly rows: number;
  /** REQUEST_WEIGHT used this minute per market, as the exchange reported it. */
  readonly weight: Readonly<Record<string, WeightStatus>>;
}

/** A running healer: what it did so far (/api/pipeline `heal`), and its shutdown. */
export interface Healer {
  report(): HealReport;
  /** Stops taking gaps, cancels the REST request in flight (its gap stays unhealed for the next start) and waits for the worker. */
  close(): Promise<void>;
}

/**
 * Gap healing: every trade/aggTrade gap row not healed yet — found live, across a restart (reason
 * `restart`), in a replay, or left unhealed by an earlier process — is filled from REST
 * (`aggTrades?fromId=`, `historicalTrades?fromId=`, USD-M `/fapi/v1` alike). The gaps table is the
 * queue's source of truth, so nothing is lost when the in-memory queue is full or the process dies;
 * the queue holds at most `heal.maxQueuedGaps`. Per page of ids: those not stored yet are written
 * through the store writer's idempotent statements, then published on the bus flagged `healed`, so
 * the processor corrects the windows they belong to (and their completeness); the row is marked
 * durable before it is published, and a gap is marked healed/partial/failed only after its rows.
 * REST calls run at background priority, within `heal.weightShare` of the weight budget.
 */
export function startHealer(deps: HealerDeps): Healer {
  const { config, db, publish, metrics } = deps;
  const logger = deps.logger.child({ component: 'healer' });
  const abort = new AbortController();
  const { clients } = deps;
  const markets = [...clients.keys()];
  const queue: GapToHeal[] = [];
  const queued = new Set<string>();
  const totals: Record<HealStatus, number> & { rows: number } = { healed: 0, partial: 0, failed: 0, rows: 0 };
  let firstPoll = true;

  /** Fills the queue from the gaps table, up to its cap. */
  const refill = async (): Promise<void> => {
    const room = config.heal.maxQueuedGaps - queue.length;
    if (room <= 0 || markets.length === 0) return;
    // Queued gaps are still unhealed in the table: ask for enough to find `room` new ones.
    const rows = await gapsToHeal(db, markets, room + queue.length, firstPoll);
    firstPoll = false;
    for (const gap of rows) {
      const key = gapKey(gap);
      if (queued.has(key) || queue.length >= config.heal.maxQueuedGaps) continue;
      queued.add(key);
      queue.push(gap);
    }
    metrics.healQueue.set(queue.length);
  };

  /** The page's records whose ids are not stored yet, flagged as healed. */
  const unstored = async (gap: GapToHeal, items: readonly (TradeEvent | AggTradeEvent)[]): Promise<(TradeEvent | AggTradeEvent)[]> => {
    const ids = items.map(tradeIdOf);
    const stored = await storedIds(db, gap, gap.stream, Math.min(...ids), Math.max(...ids));
    return items.filter((e) => !stored.has(tradeIdOf(e))).map((e) => ({ ...e, healed: true as const }));
  };

  /** Fetches, stores and publishes the gap's ids; undefined when shutdown interrupted it. */
  const heal = async (gap: GapToHeal, client: BinanceRestClient): Promise<HealOutcome | undefined> => {
    const expected = gap.lastMissingId - gap.firstMissingId + 1;
    const until = Math.min(gap.lastMissingId, gap.firstMissingId + config.heal.maxIdsPerGap - 1);
    let rows = 0;
    let error: string | undefined;
    try {
      for await (const page of client.idRange(gap.stream, gap.symbol, gap.firstMissingId, until, { priority: 'background' })) {
        rows += page.items.length;
        if (page.items.length === 0) continue;
        const fresh = await unstored(gap, page.items);
        if (fresh.length === 0) continue;
        await db.transaction((tx) => writeEvents(tx, fresh));
        await publish(fresh);
        totals.rows += fresh.length;
        metrics.healedRows.inc({ exchange: gap.exchange, market: gap.market, stream: gap.stream }, fresh.length);
      }
    } catch (err) {
      // Shutting down (the healer's or the REST client's requests ended): the gap stays for the next start.
      if (abort.signal.aborted || (err instanceof TickflowError && err.code === ErrorCodes.SHUTDOWN)) {
        abort.abort();
        return undefined;
      }
      error = errorMessage(err);
    }
    if (rows >= expected) return { status: 'healed', rows };
    error ??=
      until < gap.lastMissingId
        ? `${expected} ids is more than heal.maxIdsPerGap (${config.heal.maxIdsPerGap})`
        : `REST returned ${rows} of the ${expected} ids: the exchange no longer keeps the others`;
    return { status: rows > 0 ? 'partial' : 'failed', rows, error };
  };

  const healNext = async (gap: GapToHeal): Promise<void> => {
    const client = clients.get(gap.market);
    if (client === undefined) return;
    const started = Date.now();
    const outcome = await heal(gap, client);
    if (outcome === undefined) return;
    await recordHeal(db, gap, outcome);
    totals[outcome.status] += 1;
    metrics.healedGaps.inc({ exchange: gap.exchange, market: gap.market, stream: gap.stream, status: outcome.status });
    const log = {
      symbol: gap.symbol,
      market: gap.market,
      stream: gap.stream,
      first: gap.firstMissingId,
      last: gap.lastMissingId,
      ...outcome,
      ms: Date.now() - started,
    };
    if (outcome.status === 'healed') logger.info(log, 'gap healed from REST');
    else logger.warn(log, `gap ${outcome.status}`);
  };

  const worker = (async () => {
    while (!abort.signal.aborted) {
      try {
        if (queue.length === 0) await refill();
        const gap = queue[0];
        if (gap === undefined) {
          await sleep(config.heal.pollMs, abort.signal);
          continue;
        }
        try {
          await healNext(gap);
        } finally {
          queue.shift();
          queued.delete(gapKey(gap));
          metrics.healQueue.set(queue.length);
        }
      } catch (err) {
        // A database hiccup: the gap is still unhealed in the table and is read again.
        if (abort.signal.aborted) break;
        logger.warn({ err: errorMessage(err) }, 'healing failed for now; retrying after the poll interval');
        await sleep(config.heal.pollMs, abort.signal);
      }
    }
  })();

  return {
    report: () => ({
      enabled: true,
      queued: queue.length,
      healed: totals.healed,
      partial: totals.partial,
      failed: totals.failed,
      rows: totals.rows,
      weight: Object.fromEntries([...clients].map(([market, c]) => [market, c.weight()])),
    }),
    close: async () => {
      abort.abort();
      await worker;
    },
  };
}
