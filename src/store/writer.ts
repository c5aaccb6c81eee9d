import type { Bus, BusConsumer, Delivery, TopicId } from '../bus/bus.js';
import type { Config } from '../config/schema.js';
import { monotonicMs } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import { retry } from '../core/retry.js';
import { exchangeTime, type DeadLetterEvent, type PipelineEvent } from '../core/events.js';
import type { HealthRegistry } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Database, Queryable } from './database.js';
import { remedyFor, toStoreError, type StoreError } from './errors.js';
import { rawOf, storeDeadLetter, writeIsolating } from './isolate.js';
import { maintainPartitions, retentionApplies } from './partitions.js';
import { TABLE_WRITES, tableOf } from './rows.js';

/** The store role's consumer group under the default `bus.groupPrefix`. */
export const STORE_GROUP = 'tickflow-store';

export function storeGroup(bus: Pick<Config['bus'], 'groupPrefix'>): string {
  return `${bus.groupPrefix}-store`;
}
const TOPICS: readonly TopicId[] = ['trades', 'bookTicker', 'depth', 'klines', 'gaps', 'deadLetters'];
const MAINTENANCE_INTERVAL_MS = 3_600_000;
/** Dead letters the writer itself creates: rows the database refused, records it could not encode. */
const DEAD_LETTER_ORIGIN = 'store';
const REJECTED_BY_DATABASE = 'rejected_by_database';
const UNENCODABLE = 'unencodable';

interface Statement {
  readonly table: string;
  readonly sql: string;
  readonly params: unknown[];
}

/** One INSERT per table present in `events`; computing the values first tells malformed records apart from database failures. */
function statementsFor(events: readonly PipelineEvent[]): Statement[] {
  const statements: Statement[] = [];
  for (const write of TABLE_WRITES) {
    const rows = events.filter((e) => tableOf(e) === write.table);
    if (rows.length === 0) continue;
    statements.push({ table: write.table, sql: write.sql, params: write.params(write.prepare ? write.prepare(rows) : rows) });
  }
  return statements;
}

/**
 * Writes `events` with the store writer's own idempotent statements (ON CONFLICT per table) on
 * `db`, which may be a transaction. For writers outside the bus path (import, gap healing,
 * backfill), so every row reaches the database the same way. Errors are the database's.
 */
export async function writeEvents(db: Queryable, events: readonly PipelineEvent[]): Promise<void> {
  for (const s of statementsFor(events)) await db.query(s.sql, s.params);
}

export interface StoreWriterDeps {
  readonly config: Config;
  readonly bus: Bus;
  readonly db: Database;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly health: HealthRegistry;
}

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
  const { batchRows, batchMs, retryInitialMs, retryMaxMs, retentionDays } = config.store;

  let pending: Delivery[] = [];
  let oldestPendingAt: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let chain: Promise<void> = Promise.resolve();
  let inFlight = 0;
  let inFlightSince: number | undefined;
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

  /** Inserts into every table in `tx`; returns rows inserted per table. */
  const insertAll = async (tx: Queryable, statements: readonly Statement[]): Promise<Map<string, number>> => {
    const inserted = new Map<string, number>();
    for (const statement of statements) {
      const started = monotonicMs();
      const result = await tx.query<{ n: number }>(statement.sql, statement.params);
      metrics.writeLatency.observe({ table: statement.table }, (monotonicMs() - started) / 1000);
      inserted.set(statement.table, Number(result[0]?.n ?? 0));
    }
    return inserted;
  };

  /** One transaction; counts rows only once it committed. */
  const writeRows = async (statements: readonly Statement[]): Promise<number> => {
    const inserted = await db.transaction((tx) => insertAll(tx, statements));
    let total = 0;
    for (const [table, n] of inserted) {
      metrics.rowsWritten.inc({ table }, n);
      total += n;
    }
    return total;
  };

  const writeDeadLetter = async (event: PipelineEvent, reason: string, detail: string): Promise<void> => {
    const letter: DeadLetterEvent = {
      type: 'deadLetter',
      origin: DEAD_LETTER_ORIGIN,
      reason,
      detail: `${tableOf(event)}: ${detail}`.slice(0, 2_000),
      raw: rawOf(event),
      receivedAt: stableTime(event),
    };
    metrics.rowsWritten.inc({ table: 'dead_letters' }, await storeDeadLetter(db, letter, logger));
    metrics.deadLetters.inc({ origin: DEAD_LETTER_ORIGIN, reason });
    logger.warn({ table: tableOf(event), reason, detail }, 'row moved to dead_letters');
  };

  /** Sets aside events whose column values cannot even be computed (a malformed record), as dead letters. */
  const withoutUnencodable = async (
    events: readonly PipelineEvent[],
  ): Promise<{ encodable: readonly PipelineEvent[]; statements?: Statement[]; rejected: number }> => {
    try {
      return { encodable: events, statements: statementsFor(events), rejected: 0 };
    } catch {
      const encodable: PipelineEvent[] = [];
      let rejected = 0;
      for (const event of events) {
        try {
          statementsFor([event]);
          encodable.push(event);
        } catch (err) {
          await writeDeadLetter(event, UNENCODABLE, errorMessage(err));
          rejected += 1;
        }
      }
      return { encodable, rejected };
    }
  };

  /** Writes `events`; when the database refuses a value, halves the batch until the offending rows are isolated. */
  const writeIsolatingRows = async (
    events: readonly PipelineEvent[],
    statements = statementsFor(events),
  ): Promise<{ inserted: number; rejected: number }> => {
    const { results, rejected } = await writeIsolating(
      events,
      (part) => writeRows(part === events ? statements : statementsFor(part)),
      (event, e) => writeDeadLetter(event, REJECTED_BY_DATABASE, `${e.sqlState ?? ''} ${e.message}`),
    );
    return { inserted: results.reduce((a, b) => a + b, 0), rejected };
  };

  /** One attempt at `events`; every failure comes out as a StoreError that says whether a retry can help. */
  const writeOnce = async (events: readonly PipelineEvent[]): Promise<void> => {
    try {
      const { encodable, statements, rejected: unencodable } = await withoutUnencodable(events);
      const { inserted, rejected } = await writeIsolatingRows(encodable, statements);
      counts.rowsInserted += inserted;
      counts.rejected += rejected + unencodable;
      counts.duplicates += encodable.length - inserted - rejected;
    } catch (err) {
      const e = toStoreError(err, 'batch write failed');
      lastError = e.message;
      if (e.canRetry) failing = `cannot write to the database: ${e.message}`;
      throw e;
    }
  };

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
    // Offsets move only now that the rows are durable.
    const consumer = await consumerReady;
    try {
      await consumer.commit(batch);
    } catch (err) {
      // Harmless to skip: the next commit covers these offsets, and redelivery is idempotent.
      logger.warn({ err: toStoreError(err, 'offset commit failed').message }, 'offset commit failed; the next batch commits past it');
    }
    const now = Date.now();
    for (const e of events) {
      if (e.type !== 'gap' && e.type !== 'deadLetter' && e.type !== 'bookSnapshot') {
        metrics.endToEndLatency.observe({ table: tableOf(e) }, Math.max(0, now - exchangeTime(e)) / 1000);
      }
    }
    counts.batches += 1;
    lastWriteAt = now;
    failing = undefined;
  };

  /** Queues a write of everything pending; writes run one at a time, in delivery order. */
  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const run = chain.then(async () => {
      if (halted) throw halted;
      const batch = pending;
      if (batch.length === 0) return;
      pending = [];
      inFlight = batch.length;
      inFlightSince = oldestPendingAt;
      oldestPendingAt = undefined;
      try {
        await writeBatch(batch);
      } catch (err) {
        // Only a shutdown gives up; the rows stay uncommitted and the bus redelivers them.
        pending = batch.concat(pending);
        oldestPendingAt = inFlightSince;
        throw err;
      } finally {
        inFlight = 0;
        inFlightSince = undefined;
      }
    });
    chain = run.catch(() => undefined);
    return run;
  };

  const consumer = await deps.bus.subscribe(
    { group: storeGroup(config.bus), topics: TOPICS },
    {
      onDeliveries: async (batch) => {
        oldestPendingAt ??= monotonicMs();
        for (const delivery of batch) pending.push(delivery);
        if (closed) return; // close() flushes once everything is handed over
        if (pending.length >= batchRows || halted) {
          // Awaiting the write holds the bus back while the database is slow or down.
          await flush().catch(async (err: unknown) => {
            if (!halted) throw err;
            await haltedUntilClose;
          });
        } else if (!timer) {
          timer = setTimeout(() => {
            timer = undefined;
            flush().catch((err) => {
              if (!halted) logger.error({ err: toStoreError(err, 'flush failed').message }, 'timed flush failed');
            });
          }, batchMs);
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
    const oldest = inFlightSince ?? oldestPendingAt;
    const details = {
      pendingRows: pending.length + inFlight,
      oldestPendingMs: oldest === undefined ? 0 : Math.round(monotonicMs() - oldest),
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
    stats: () => ({ ...counts, pendingRows: pending.length + inFlight, lastWriteAt, lastError }),
    lag: () => consumer.lag(),
  };
}

/** A time for the dead letter that is the same on redelivery, so the copy is recognized as a duplicate. */
function stableTime(event: PipelineEvent): number {
  const candidate =
    event.type === 'deadLetter'
      ? event.receivedAt
      : event.type === 'gap'
        ? event.detectedAt
        : event.type === 'bookSnapshot'
          ? event.takenAt
          : Math.floor(event.ingestionTimestamp / 1000);
  return Number.isSafeInteger(candidate) && candidate > 0 && candidate < 32503680000000 ? candidate : Date.now();
}
