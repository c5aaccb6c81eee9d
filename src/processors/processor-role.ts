import type { Bus, BusConsumer, Delivery, TopicId } from '../bus/bus.js';
import type { Config } from '../config/schema.js';
import { errorMessage } from '../core/errors.js';
import { monotonicMs } from '../core/clock.js';
import type { HealthRegistry } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { LagSample } from '../ops/process-metrics.js';
import type { Database } from '../store/database.js';
import { CommitTracker, sourceOf } from './commit-tracker.js';
import { UpsertWriter } from './upsert-writer.js';
import { type SafePositions, WriteBehind } from './write-behind.js';
import { type CoreInput, ProcessorCore, type Upsert } from './processor-core.js';
import { INTERVAL_MS } from './candles.js';
import type { RestoredRows } from './processor-core.js';
import { latestStoredTradeTime, loadRestoredRows, loadStoredTrades } from './processor-store.js';

/** The processor role's consumer group under the default `bus.groupPrefix`. */
export const PROCESSOR_GROUP = 'tickflow-process';

/** The processor's Kafka consumer group: `<bus.groupPrefix>-process` (`tickflow-process` by default). */
export function processorGroup(bus: Pick<Config['bus'], 'groupPrefix'>): string {
  return `${bus.groupPrefix}-process`;
}
const TOPICS: readonly TopicId[] = ['trades', 'bookTicker'];

/**
 * Rows queued behind the write in flight at which deliveries wait (WriteBehind): about 80 delivery
 * batches of real trades, so a transaction stays a few MiB and a crash replays seconds of input.
 */
const MAX_QUEUED_ROWS = 10_000;

/** What startProcessor runs on: config (processor.*, bus.*), the bus, the database, logger, metrics, health. */
export interface ProcessorDeps {
  readonly config: Config;
  readonly bus: Bus;
  readonly db: Database;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthRegistry;
  /**
   * Told about every batch of rows once it is written, before offsets commit: the signal stream
   * (src/bus/signals.ts) starts here. Awaited, so a publish to Kafka is back-pressure too.
   */
  readonly onWritten?: (upserts: readonly Upsert[]) => void | Promise<void>;
}

/**
 * A running processor (consumer group `<prefix>-process`): flush, finish, close, and its lag for
 * metrics and /api/pipeline.
 */
export interface Processor {
  /** Writes every open window's current (partial) values and commits what is safe. */
  flush(): Promise<void>;
  /** The input has ended (replay finished): closes every open window as final, writes and commits. */
  finish(): Promise<void>;
  /** Flushes open windows as partial rows, commits only what is safe, leaves the consumer group. */
  close(): Promise<void>;
  /**
   * Per partition: records not yet folded into windows (`lag`, the processing lag) apart from
   * records folded in but not committed because a window holding them is still open
   * (`recoveryDistance`: what a crash makes the group read again).
   */
  lag(): Promise<readonly LagSample[]>;
}

/**
 * The bus reports end − committed. The processor commits only below its oldest open window, so
 * that distance includes records it has processed already; the part after the last delivery it
 * processed is the processing lag, the rest the recovery distance.
 */
function splitLag(
  positions: readonly { topic: TopicId; partition: number; lag: number; end: number }[],
  processed: ReadonlyMap<string, Delivery>,
): LagSample[] {
  return positions.map((p) => {
    const last = processed.get(sourceOf(p));
    const lag = last === undefined ? p.lag : Math.min(p.lag, Math.max(0, p.end - Number(last.offset) - 1));
    return { topic: p.topic, partition: p.partition, lag, recoveryDistance: p.lag - lag };
  });
}

/** `auto` follows the source: its trade stream when subscribed, else its aggTrade stream. */
export function tradeStreamOf(config: Config): 'trade' | 'aggTrade' {
  const chosen = config.processor.tradeStream;
  if (chosen !== 'auto') return chosen;
  return config.source.streams.includes('trade') || !config.source.streams.includes('aggTrade') ? 'trade' : 'aggTrade';
}

/**
 * The stream-processor role: consumes trades and bookTicker as group `tickflow-process`, folds
 * them into the pure ProcessorCore, upserts its rows, and commits offsets only below the oldest
 * event still held in an open window. After kill -9 the group replays from there; final rows
 * reloaded from the database (with the highest offset each holds) make the replay skip what is
 * already stored, so the tables end identical to an uninterrupted run.
 */
export async function startProcessor(deps: ProcessorDeps): Promise<Processor> {
  const { config, db, metrics } = deps;
  const logger = deps.logger.child({ component: 'processor' });
  const core = new ProcessorCore({ ...config.processor, tradeStream: tradeStreamOf(config) });
  // Final windows written by an earlier run (or by the previous owner of a partition): replayed
  // events already in them are skipped, and indicators, baselines and fills continue from them.
  const restore = async (): Promise<RestoredRows> => {
    const rows = await loadRestoredRows(db, core.retention());
    core.restore(rows);
    return rows;
  };
  const restored = await restore();

  const writer = new UpsertWriter({ db, metrics, logger, ...(deps.onWritten ? { onWritten: deps.onWritten } : {}) });
  const commits = new CommitTracker(logger);
  let lastBatchAt: number | undefined;
  let chain: Promise<unknown> = Promise.resolve();
  let consumer: BusConsumer | undefined;

  /** Every step touching the core runs one at a time, in arrival order. */
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };

  /** What ProcessorCore allows to commit now, per source: safe once every row it returned so far is written. */
  const safePositions = (): SafePositions => new Map(core.sources().map((source) => [source, core.committable(source)]));
  const writes = new WriteBehind({
    write: (upserts) => writer.write(upserts),
    commit: async (positions) => {
      if (consumer) await commits.commit(consumer, positions.keys(), (source) => positions.get(source));
    },
    maxQueuedRows: MAX_QUEUED_ROWS,
  });
  /** Queues rows (with what they make safe to commit) behind the write in flight. */
  const queue = (upserts: readonly Upsert[]): void => writes.add(upserts, safePositions());
  /** Queues rows, then writes and commits everything queued: for steps that end with the rows durable. */
  const write = async (upserts: readonly Upsert[]): Promise<void> => {
    queue(upserts);
    await writes.settle();
  };

  // The in-process bus keeps nothing across a restart: the windows that were open when the last
  // process died are rebuilt from the trades the store had written, so no final candle holds fewer
  // trades than are stored. (Kafka replays them from the committed offset instead.)
  if (deps.bus.kind === 'memory') {
    const inputs = await openWindowTrades(db, config, restored, tradeStreamOf(config));
    if (inputs.length > 0) {
      await write(core.ingest(inputs).upserts);
      logger.info({ trades: inputs.length }, 'windows open at the last stop rebuilt from stored trades');
    }
  }

  const updateGauges = (): void => {
    for (const [kind, n] of Object.entries(core.openWindowCounts())) metrics.openWindows.set({ kind }, n);
  };

  consumer = await deps.bus.subscribe(
    { group: processorGroup(config.bus), topics: TOPICS },
    {
      onDeliveries: (batch) =>
        serial(async () => {
          // A failed write is retried here first: while it fails, the batch is refused untouched and
          // the bus retries it. Waits while the rows queued behind the write in flight are at their bound.
          await writes.admit();
          const started = monotonicMs();
          const inputs: CoreInput[] = batch.map((d) => ({ source: sourceOf(d), offset: d.offset, event: d.event }));
          commits.seen(batch);
          const result = core.ingest(inputs);
          for (const i of result.late) metrics.lateEvents.inc({ exchange: i.exchange, market: i.market, symbol: i.symbol });
          for (const r of result.rejected) {
            metrics.deadLetters.inc({ origin: 'processor', reason: 'invalid_field' });
            logger.warn({ source: r.source, offset: r.offset.toString(), reason: r.reason }, 'event skipped by the processor');
          }
          // Written behind the core, committed after the write: an offset is committed only once its effects are durable.
          queue(result.upserts);
          lastBatchAt = Date.now();
          updateGauges();
          metrics.processingLatency.observe((monotonicMs() - started) / 1000);
          // Nothing above waits for I/O any more: without this turn of the event loop a fetched
          // backlog would be folded in as one long task, starving the write in flight, the group's
          // heartbeats and /metrics until the buffer is empty.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }),
      onAssign: () =>
        serial(async () => {
          await restore();
        }),
      onRevoke: (partitions) =>
        serial(async () => {
          await write(core.openRows());
          for (const p of partitions) {
            const source = sourceOf(p);
            core.forget(source);
            commits.forget(source);
          }
          updateGauges();
        }),
    },
  );

  const trigger = setInterval(() => {
    // A write that failed in the background is retried here too when no delivery comes to do it.
    serial(async () => {
      queue(core.partials());
      await writes.admit();
    }).catch((err) => logger.error({ err: errorMessage(err) }, 'partial window upsert failed'));
  }, config.processor.triggerIntervalMs);
  trigger.unref();

  deps.health.register('processor', () => {
    const details = {
      openWindows: core.openWindowCounts(),
      pendingRows: writer.pendingRows + writes.queuedRows,
      lastBatchAt: lastBatchAt === undefined ? null : new Date(lastBatchAt).toISOString(),
    };
    const failing = writer.failing;
    return failing ? { state: 'down', reason: failing, details } : { state: 'up', details };
  });

  let closed = false;
  return {
    flush: () => serial(() => write(core.openRows())),
    finish: () =>
      serial(async () => {
        await write(core.finish());
        updateGauges();
      }),
    lag: async () => splitLag(consumer ? await consumer.lag() : [], commits.lastDelivery),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(trigger);
      // Closing hands over what is queued, then revokes: open windows are written as partial rows
      // and only offsets below them are committed.
      await consumer.close();
      await serial(() => write(core.openRows()));
    },
  };
}

/** Stored trades folded in again per symbol at most (the newest): bounds the work of a start. */
const REBUILD_LIMIT = 200_000;

/**
 * The stored trades of every window not yet final in the database, as inputs of the in-process
 * bus's trades partition: in time order (so the watermark advances as it did), with negative
 * offsets below every offset the new bus assigns. A window kind without a final row for a symbol
 * starts from the largest window holding its latest stored trade.
 */
async function openWindowTrades(db: Database, config: Config, restored: RestoredRows, kind: 'trade' | 'aggTrade'): Promise<CoreInput[]> {
  const { candleIntervals, metricsWindowMs } = config.processor;
  const kinds = candleIntervals.length + 1;
  const largest = Math.max(metricsWindowMs, ...candleIntervals.map((i) => INTERVAL_MS[i] ?? 0));
  const events = [];
  for (const symbol of config.source.symbols) {
    const finalEnd = new Map<string, number>();
    for (const row of [...restored.candles, ...restored.tradeMetrics.map((r) => ({ ...r, interval: `metrics:${r.interval}` }))]) {
      if (row.symbol === symbol) finalEnd.set(row.interval, Math.max(finalEnd.get(row.interval) ?? -Infinity, row.windowEnd));
    }
    const key = { market: config.source.market, symbol, kind };
    let since: number;
    if (finalEnd.size === kinds) since = Math.min(...finalEnd.values());
    else {
      const latest = await latestStoredTradeTime(db, key);
      if (latest === undefined) continue;
      since = Math.floor(latest / largest) * largest;
    }
    events.push(...(await loadStoredTrades(db, key, since, REBUILD_LIMIT)));
  }
  events.sort((a, b) => a.tradeTime - b.tradeTime);
  const source = sourceOf({ topic: 'trades', partition: 0 });
  return events.map((event, i) => ({ source, offset: BigInt(i - events.length), event }));
}
