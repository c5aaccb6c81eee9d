import { monotonicMs } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Database } from '../store/database.js';
import type { StoreError } from '../store/errors.js';
import { rawOf, storeDeadLetter, writeIsolating } from '../store/isolate.js';
import type { Upsert } from './processor-core.js';
import { writeUpserts } from './processor-store.js';

/** What the UpsertWriter writes with and whom it tells once a batch is durable. */
export interface UpsertWriterDeps {
  readonly db: Database;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Told about every part of a batch once it is written (before the caller commits offsets); awaited. */
  readonly onWritten?: (upserts: readonly Upsert[]) => void | Promise<void>;
}

/**
 * The processor's writes with bad-row isolation: rows are upserted in transactions
 * (processor-store.ts); a row the database will never take (a value out of range) becomes a
 * counted dead letter `rejected_by_database` instead of being retried forever, and the rest of the
 * batch lands. Any other failure is thrown with the rows kept, so the next write retries them first.
 */
export class UpsertWriter {
  /** Rows produced but not yet written. */
  private pending: Upsert[] = [];
  private failure: string | undefined;

  constructor(private readonly deps: UpsertWriterDeps) {}

  /** Rows waiting for a write that succeeds. */
  get pendingRows(): number {
    return this.pending.length;
  }

  /** Why the last write failed, until one succeeds (for /health). */
  get failing(): string | undefined {
    return this.failure;
  }

  /** Writes what is pending and then `upserts`. Throws the database's StoreError when it failed. */
  async write(upserts: readonly Upsert[]): Promise<void> {
    const { db, metrics } = this.deps;
    this.pending.push(...upserts);
    if (this.pending.length === 0) return;
    const batch = this.pending;
    const started = monotonicMs();
    try {
      const { results } = await writeIsolating(
        batch,
        async (part) => ({ part, written: await db.transaction((tx) => writeUpserts(tx, part)) }),
        (u, e) => this.reject(u, e),
      );
      this.pending = this.pending.slice(batch.length);
      this.failure = undefined;
      const seconds = (monotonicMs() - started) / 1000;
      const now = Date.now();
      for (const { part, written } of results) {
        await this.deps.onWritten?.(part);
        for (const [table, n] of written) {
          metrics.rowsWritten.inc({ table }, n);
          metrics.writeLatency.observe({ table }, seconds);
        }
        for (const u of part) if (u.table === 'whale_trades') metrics.endToEndLatency.observe({ table: u.table }, (now - u.row.tradeTime) / 1000);
      }
    } catch (err) {
      this.failure = `writing processor rows failed: ${errorMessage(err)}`;
      throw err;
    }
  }

  private async reject(u: Upsert, e: StoreError): Promise<void> {
    const { db, metrics, logger } = this.deps;
    const reason = 'rejected_by_database';
    const detail = `${u.table}: ${e.sqlState ?? ''} ${e.message}`.slice(0, 2_000);
    const letter = { type: 'deadLetter', origin: 'processor', reason, detail, raw: rawOf(u.row), receivedAt: Date.now() } as const;
    metrics.rowsWritten.inc({ table: 'dead_letters' }, await storeDeadLetter(db, letter, logger));
    metrics.deadLetters.inc({ origin: 'processor', reason });
    logger.warn({ table: u.table, reason, detail }, 'processor row moved to dead_letters');
  }
}
