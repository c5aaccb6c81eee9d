import { monotonicMs } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DeadLetterEvent, PipelineEvent } from '../core/events.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Database, Queryable } from './database.js';
import { rawOf, storeDeadLetter, writeIsolating } from './isolate.js';
import { TABLE_WRITES, tableOf } from './rows.js';

/** Dead letters the store writer itself creates: rows the database refused, records it could not encode. */
const DEAD_LETTER_ORIGIN = 'store';
const REJECTED_BY_DATABASE = 'rejected_by_database';
const UNENCODABLE = 'unencodable';

/** One INSERT of a batch: the table it writes, its SQL and its array parameters. */
export interface Statement {
  readonly table: string;
  readonly sql: string;
  readonly params: unknown[];
}

/**
 * One INSERT per table present in `events` (store/rows.ts). Computing the values first tells a
 * malformed record (this throws) apart from a database failure.
 */
export function statementsFor(events: readonly PipelineEvent[]): Statement[] {
  const statements: Statement[] = [];
  for (const write of TABLE_WRITES) {
    const rows = events.filter((e) => tableOf(e) === write.table);
    if (rows.length === 0) continue;
    statements.push({ table: write.table, sql: write.sql, params: write.params(write.prepare ? write.prepare(rows) : rows) });
  }
  return statements;
}

/** What one batch did: rows inserted, duplicates of stored rows (no-ops), rows moved to dead_letters. */
export interface BatchOutcome {
  readonly inserted: number;
  readonly duplicates: number;
  readonly rejected: number;
}

/** Where writeBatch writes, counts and logs. */
export interface BatchWriteDeps {
  readonly db: Database;
  readonly metrics: Metrics;
  readonly logger: Logger;
}

/**
 * The store writer's bad-row isolation: writes `events` in one transaction; a record whose values
 * cannot be computed, or a row the database refuses (`StoreError.rejectsData`), becomes a counted
 * dead letter with its reason while every other row is written — one bad row never blocks the
 * batch and is never retried. Any other failure (the database is down, …) is thrown unchanged for
 * the caller's retry policy, with nothing written.
 */
export async function writeBatchIsolating(deps: BatchWriteDeps, events: readonly PipelineEvent[]): Promise<BatchOutcome> {
  const { encodable, statements, rejected: unencodable } = await withoutUnencodable(deps, events);
  const { results, rejected } = await writeIsolating(
    encodable,
    (part) => writeRows(deps, part === encodable && statements ? statements : statementsFor(part)),
    (event, e) => writeDeadLetter(deps, event, REJECTED_BY_DATABASE, `${e.sqlState ?? ''} ${e.message}`),
  );
  const inserted = results.reduce((a, b) => a + b, 0);
  return { inserted, rejected: rejected + unencodable, duplicates: encodable.length - inserted - rejected };
}

/** Sets aside events whose column values cannot even be computed (a malformed record), as dead letters. */
async function withoutUnencodable(
  deps: BatchWriteDeps,
  events: readonly PipelineEvent[],
): Promise<{ encodable: readonly PipelineEvent[]; statements?: Statement[]; rejected: number }> {
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
        await writeDeadLetter(deps, event, UNENCODABLE, errorMessage(err));
        rejected += 1;
      }
    }
    return { encodable, rejected };
  }
}

/** One transaction over every statement; returns rows inserted, counted only once it committed. */
async function writeRows({ db, metrics }: BatchWriteDeps, statements: readonly Statement[]): Promise<number> {
  const inserted = await db.transaction(async (tx: Queryable) => {
    const perTable = new Map<string, number>();
    for (const statement of statements) {
      const started = monotonicMs();
      const result = await tx.query<{ n: number }>(statement.sql, statement.params);
      metrics.writeLatency.observe({ table: statement.table }, (monotonicMs() - started) / 1000);
      perTable.set(statement.table, Number(result[0]?.n ?? 0));
    }
    return perTable;
  });
  let total = 0;
  for (const [table, n] of inserted) {
    metrics.rowsWritten.inc({ table }, n);
    total += n;
  }
  return total;
}

async function writeDeadLetter({ db, metrics, logger }: BatchWriteDeps, event: PipelineEvent, reason: string, detail: string): Promise<void> {
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
