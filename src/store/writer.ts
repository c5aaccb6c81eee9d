import type { Bus, BusConsumer, Delivery, TopicId } from '../bus/bus.js';
import type { Config } from '../config/schema.js';
import { monotonicMs } from '../core/clock.js';
import { retry } from '../core/retry.js';
import { exchangeTime, type PipelineEvent } from '../core/events.js';
import type { HealthRegistry } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Database, Queryable } from './database.js';
import { remedyFor, toStoreError, type StoreError } from './errors.js';
import { CopyPolicy, statementsFor, writeBatchIsolating } from './batch-write.js';
import { maintainPartitions, retentionApplies } from './partitions.js';
import { PendingDeliveries } from './pending.js';
import { tableOf } from './rows.js';

/** The store role's consumer group under the default `bus.groupPrefix`. */
export const STORE_GROUP = 'tickflow-store';

/** The store writer's Kafka consumer group: `<bus.groupPrefix>-store` (`tickflow-store` by default). */
export function storeGroup(bus: Pick<Config['bus'], 'groupPrefix'>): string {
  return `${bus.groupPrefix}-store`;
}
const TOPICS: readonly TopicId[] = ['trades', 'bookTicker', 'depth', 'klines', 'gaps', 'deadLetters'];
const MAINTENANCE_INTERVAL_MS = 3_600_000;
/**
 * Writes `events` with the store writer's own idempotent statements (ON CONFLICT per table) on
 * `db`, which may be a transaction. For writers outside the bus path (import, gap healing,
 * backfill), so every row reaches the database the same way. Errors are the database's.
 */
export async function writeEvents(db: Queryable, events: readonly PipelineEvent[]): Promise<void> {
  for (const s of statementsFor(events)) await db.query(s.sql, s.params);
}

/** What the store writer runs on: config (store.*, bus.*), the bus, the database, logger, metrics, health. */
export interface StoreWriterDeps {
  readonly config: Config;
  readonly bus: Bus;
  readonly db: Database;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthRegistry;
}

/** What the store writer has done since start (rows, duplicates, batches, …) and what it holds uncommitted. */
export interface StoreWriterStats {
  /** Delivered to the writer and not yet committed. */
  readonly pendingRows: number;
  /** Rows the database inserted (duplicates excluded). */
  readonly rowsInserted: number;
  /** Rows written as a no-op because an identical key was already stored. */
  readonly duplicates: number;
  readonly batches: number;
  /** Rows the database refused, moved to dead_letters. */
  readonly rejected: number;
  /** Failed write attempts that were retried. */
  readonly retries: number;
  /** Epoch ms of the last committed batch. */
  readonly lastWriteAt: number | undefined;
  readonly lastError: string | undefined;
}

/** A running store writer (consumer group `<prefix>-store`): flush, close, stats, lag. */
export interface StoreWriter {
  /** Writes and commits everything received so far. */
  flush(): Promise<void>;
  /** Flushes, commits and leaves the consumer group. */
  close(): Promise<void>;
  stats(): StoreWriterStats;
  /** How far the group is behind, per partition. */
  lag: BusConsumer['lag'];
}

/**
 * The store role: consumes every topic as group `tickflow-store`, writes batches of rows into all
 * tables in one transaction, and commits the bus offsets only after that transaction committed —
 * so a crash at any point redelivers rows, and the natural-key constraints make redelivery a no-op.
 */
export async function startStoreWriter(deps: StoreWriterDeps): Promise<StoreWriter> {
  const { config, db, metrics } = deps;
  const logger = deps.logger.child({ component: 'store-writer' });
  const { batchRows, retryInitialMs, retryMaxMs, retentionDays } = config.store;

  const pending = new PendingDeliveries();
  const copy = new CopyPolicy();
  let failing: string | undefined;
  /** Aborted `ops.shutdownTimeoutMs` after close(): a batch still failing then stays uncommitted for redelivery. */
  const giveUp = new AbortController();
  let closed = false;
  const counts = { rowsInserted: 0, duplicates: 0, batches: 0, rejected: 0, retries: 0 };
  let lastWriteAt: number | undefined;
  let lastError: string | undefined;

  let halted: StoreError | undefined;
  let releaseHalted!: () => void;
  /** Resolves on close: while the writer is halted, deliveries wait here (nothing committed) instead of being retried. */
  const haltedUntilClose = new Promise<void>((resolve) => (releaseHalted = resolve));

  /** A failure retrying cannot fix stops the writing for good: health goes red and the log says what to do. */
  const halt = (e: StoreError): StoreError => {
    if (halted) return halted;
    halted = e;
    const todo = remedyFor(e);
    failing = `cannot write to the database: ${e.message}. ${todo}`;
    lastError = e.message;
    logger.error({ err: e.message, sqlState: e.sqlState, todo }, 'the store stopped writing: retrying cannot fix this error');
    return e;
  };

  let resolveConsumer!: (c: BusConsumer) => void;
  const consumerReady = new Promise<BusConsumer>((resolve) => {
    resolveConsumer = resolve;
  });

  /** One attempt at `events`; every failure comes out as a StoreError that says whether a retry can help. */
  const writeOnce = async (events: readonly PipelineEvent[]): Promise<void> => {
    try {
      const outcome = await writeBatchIsolating({ db, metrics, logger, copy }, events);
      counts.rowsInserted += outcome.inserted;
      counts.rejected += outcome.rejected;
      counts.duplicates += outcome.duplicates;
    } catch (err) {
      const e = toStoreError(err, 'batch write failed');
      lastError = e.message;
      if (e.canRetry) failing = `cannot write to the database: ${e.message}`;
      throw e;
    }
  };

  /** Offset commits of written batches, one after the other (commitWritten never rejects). */
  let offsetCommits: Promise<void> = Promise.resolve();

  const writeBatch = async (batch: Delivery[]): Promise<void> => {
    const events = batch.map((d) => d.event);
    const started = monotonicMs();
    try {
      // The batch is kept while the database is down: no attempt limit, only close() gives up.
      await retry(() => writeOnce(events), {
        initialDelayMs: retryInitialMs,
        maxDelayMs: retryMaxMs,
        signal: giveUp.signal,
        onRetry: (e, attempt, delayMs) => {
          counts.retries += 1;
          logger.warn({ err: e.message, rows: events.length, attempt, delayMs }, 'batch write failed; keeping it and retrying');
        },
      });
    } catch (err) {
      const e = toStoreError(err, 'batch write failed');
      throw e.canRetry ? e : halt(e);
    }
    metrics.writeLatency.observe({ table: 'batch' }, (monotonicMs() - started) / 1000);
    // Offsets move only now that the rows are durable, in batch order; the next batch is written
    // meanwhile instead of waiting for the broker's answer.
    const consumer = await consumerReady;
    offsetCommits = offsetCommits.then(() => commitWritten(consumer, batch, logger));
    const now = Date.now();
    // One labelled series per table, looked up once per batch: observe({ table }) hashes its labels per row.
    const latencyOf = new Map<string, { observe(seconds: number): void }>();
    for (const e of events) {
      if (e.type !== 'gap' && e.type !== 'deadLetter' && e.type !== 'bookSnapshot') {
        // A schema-1 record without its times was dead-lettered above; a NaN here would throw after
        // the commit, and the written batch would be put back and written again on every flush.
        const time = exchangeTime(e);
        if (!Number.isFinite(time)) continue;
        const table = tableOf(e);
        let latency = latencyOf.get(table);
        if (latency === undefined) {
          latency = metrics.endToEndLatency.labels({ table });
          latencyOf.set(table, latency);
        }
        latency.observe(Math.max(0, now - time) / 1000);
      }
    }
    counts.batches += 1;
    lastWriteAt = now;
    failing = undefined;
  };

  /** Writes everything received so far, then waits for the offset commits of what was written. */
  const flush = async (): Promise<void> => {
    try {
      await drain();
    } finally {
      await offsetCommits;
    }
  };

  /** The write loop while it runs, and the one batch write in flight. */
  let writing: Promise<void> | undefined;
  let inFlight: Promise<unknown> | undefined;
  let scheduled = false;

  /**
   * Writes what is pending, batch after batch, until nothing waits: rows that arrive during a write
   * form the next batch, so batches grow with the backlog and shrink to a few rows at low rates.
   * One loop at a time, batches in delivery order. Rejects when a batch cannot be written (the
   * writer halted, or close() gave up); the batch then stays pending, uncommitted.
   */
  const drain = (): Promise<void> => {
    if (writing) return writing;
    // Checked here, not only in the loop: a loop that ended without awaiting would run its
    // `finally` before `writing` is even assigned, and leave it set for good.
    if (halted) return Promise.reject(halted);
    if (pending.waiting === 0) return Promise.resolve();
    writing = (async () => {
      try {
        while (pending.waiting > 0) {
          if (halted) throw halted;
          const batch = pending.take();
          const write = writeBatch(batch);
          inFlight = write.catch(() => undefined);
          try {
            await write;
            pending.written();
          } catch (err) {
            // Only a shutdown gives up; the rows stay uncommitted and the bus redelivers them.
            pending.putBack(batch);
            throw err;
          }
        }
      } finally {
        writing = undefined;
        inFlight = undefined;
      }
    })();
    return writing;
  };

  /**
   * Batching by opportunity: a write starts once the input is drained — after the bus has handed
   * over everything it had (one event-loop turn) — instead of waiting for a full batch or a timer,
   * so a row at a low rate is not held back.
   */
  const drainSoon = (): void => {
    if (scheduled || writing) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      if (closed) return; // close() flushes
      drain().catch((err: unknown) => {
        if (!halted) logger.error({ err: toStoreError(err, 'write failed').message }, 'write failed');
      });
    });
  };

  const consumer = await deps.bus.subscribe(
    { group: storeGroup(config.bus), topics: TOPICS },
    {
      onDeliveries: async (batch) => {
        pending.add(batch, monotonicMs());
        if (closed) return; // close() flushes once everything is handed over
        // A halted writer holds the bus (nothing committed) until close.
        if (halted) return haltedUntilClose;
        drainSoon();
        // Back-pressure: with a full batch waiting behind the write in flight, the bus is held
        // until that write ends (and the next one starts), so memory stays bounded by batchRows.
        while (pending.waiting >= batchRows && !closed) {
          if (halted) return haltedUntilClose;
          if (!inFlight) void drain().catch(() => undefined);
          await inFlight;
        }
      },
      onRevoke: async () => {
        await flush();
      },
    },
  );
  resolveConsumer(consumer);

  const maintenance = setInterval(() => {
    maintainPartitions(db, { retentionDays: retentionApplies(config) ? retentionDays : 'off', logger }).catch((err) =>
      logger.warn({ err: toStoreError(err, 'partition maintenance failed').message }, 'partition maintenance failed; retrying in an hour'),
    );
  }, MAINTENANCE_INTERVAL_MS);
  maintenance.unref();

  deps.health.register('store', async () => {
    const details = {
      pendingRows: pending.total,
      oldestPendingMs: pending.oldestAgeMs(monotonicMs()),
      lastWriteAt: lastWriteAt === undefined ? null : new Date(lastWriteAt).toISOString(),
      rowsInserted: counts.rowsInserted,
      rejected: counts.rejected,
    };
    if (failing) return { state: 'down', reason: failing, details };
    if (!(await db.ping())) return { state: 'down', reason: 'database unreachable', details };
    return { state: 'up', details };
  });

  return {
    flush,
    async close() {
      if (closed) return;
      closed = true;
      const deadline = setTimeout(() => giveUp.abort(), config.ops.shutdownTimeoutMs).unref();
      releaseHalted();
      clearInterval(maintenance);
      // Closing the consumer hands over what is still queued and revokes, which flushes and commits.
      try {
        await consumer.close();
        await flush();
      } finally {
        clearTimeout(deadline);
      }
    },
    stats: () => ({ ...counts, pendingRows: pending.total, lastWriteAt, lastError }),
    lag: () => consumer.lag(),
  };
}

/**
 * Commit tracking: moves the group's offsets past `batch` once its rows are durable. A failed
 * commit is only logged — the next batch's commit covers these offsets, and a redelivery of them
 * is a no-op on the natural keys.
 */
async function commitWritten(consumer: BusConsumer, batch: readonly Delivery[], logger: Logger): Promise<void> {
  try {
    await consumer.commit(batch);
  } catch (err) {
    logger.warn({ err: toStoreError(err, 'offset commit failed').message }, 'offset commit failed; the next batch commits past it');
  }
}
