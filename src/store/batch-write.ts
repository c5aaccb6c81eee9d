import { monotonicMs } from '../core/clock.js';
import { errorMessage } from '../core/errors.js';
import type { DeadLetterEvent, PipelineEvent } from '../core/events.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { Database, Queryable } from './database.js';
import { rawOf, storeDeadLetter, writeIsolating } from './isolate.js';
import { toStoreError } from './errors.js';
import { TABLE_WRITES, tableOf } from './rows.js';
import { copyText } from './sql.js';

/** Dead letters the store writer itself creates: rows the database refused, records it could not encode. */
const DEAD_LETTER_ORIGIN = 'store';
const REJECTED_BY_DATABASE = 'rejected_by_database';
const UNENCODABLE = 'unencodable';

/** One INSERT of a batch: the table it writes, its SQL and its array parameters. */
export interface Statement {
  readonly table: string;
  readonly sql: string;
  readonly params: unknown[];
  /** Rows the statement writes. */
  readonly rows: number;
  /** The COPY loading the same rows, for a table whose duplicates are ignored (TableWrite.copySql). */
  readonly copySql?: string;
}

/**
 * One INSERT per table present in `events` (store/rows.ts). Computing the values first tells a
 * malformed record (this throws) apart from a database failure.
 */
export function statementsFor(events: readonly PipelineEvent[]): Statement[] {
  // One pass sorts the events by table (instead of one pass per table); statements follow TABLE_WRITES' order.
  const byTable = new Map<string, PipelineEvent[]>();
  for (const e of events) {
    const table = tableOf(e);
    const rows = byTable.get(table);
    if (rows) rows.push(e);
    else byTable.set(table, [e]);
  }
  const statements: Statement[] = [];
  for (const write of TABLE_WRITES) {
    const rows = byTable.get(write.table);
    if (rows === undefined) continue;
    const prepared = write.prepare ? write.prepare(rows) : rows;
    statements.push({
      table: write.table,
      sql: write.sql,
      params: write.params(prepared),
      rows: prepared.length,
      ...(write.copySql ? { copySql: write.copySql } : {}),
    });
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
  /** Load large batches with COPY where the connection offers it (copyFirst); absent: INSERT only. */
  readonly copy?: CopyPolicy;
}

/**
 * When a statement's rows are loaded with COPY instead of the INSERT: a COPY fails whole on a
 * duplicate, so it is tried first only on batches of `minRows` or more, and not for a table whose
 * last batch met duplicates (a redelivery after a crash) until one of its INSERTs found none.
 */
export class CopyPolicy {
  private readonly duplicated = new Set<string>();

  constructor(readonly minRows = COPY_MIN_ROWS) {}

  /** Whether `statement` is loaded with COPY first. */
  tries(statement: Statement): boolean {
    return statement.copySql !== undefined && statement.rows >= this.minRows && !this.duplicated.has(statement.table);
  }

  /** The outcome of an INSERT of `statement`: `inserted` of its rows were new. */
  inserted(statement: Statement, inserted: number): void {
    if (inserted === statement.rows) this.duplicated.delete(statement.table);
    else this.duplicated.add(statement.table);
  }
}

/**
 * COPY's two extra round trips (savepoint, release) cost more than the INSERT saves on small
 * batches; measured in bench/store-write.ts.
 */
const COPY_MIN_ROWS = 1_000;
const COPY_SAVEPOINT = 'tickflow_copy';

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

/**
 * One transaction over every statement; returns rows inserted, counted only once it committed. A
 * batch of one INSERT (one table, no COPY: the common batch at low rates) is a transaction of its
 * own, without BEGIN and COMMIT — two round trips fewer per batch on the write each row waits for.
 */
async function writeRows({ db, metrics, copy }: BatchWriteDeps, statements: readonly Statement[]): Promise<number> {
  const write = async (tx: Queryable) => {
    const perTable = new Map<string, number>();
    for (const statement of statements) {
      const started = monotonicMs();
      const load = copy?.tries(statement) ? tx.copyFrom?.bind(tx) : undefined;
      perTable.set(statement.table, load && copy ? await copyFirst(tx, load, statement, copy) : await insert(tx, statement, copy));
      metrics.writeLatency.observe({ table: statement.table }, (monotonicMs() - started) / 1000);
    }
    return perTable;
  };
  const single = statements.length === 1 && !copy?.tries(statements[0]!);
  const inserted = await (single ? write(db) : db.transaction(write));
  let total = 0;
  for (const [table, n] of inserted) {
    metrics.rowsWritten.inc({ table }, n);
    total += n;
  }
  return total;
}

async function insert(tx: Queryable, statement: Statement, copy: CopyPolicy | undefined): Promise<number> {
  const result = await tx.query<{ n: number }>(statement.sql, statement.params);
  const inserted = Number(result[0]?.n ?? 0);
  copy?.inserted(statement, inserted);
  return inserted;
}

/**
 * Loads the statement's rows with COPY — on a server several times cheaper than INSERT … ON
 * CONFLICT (bench/store-role.ts) — under a savepoint. A COPY the server refuses for its data (a
 * duplicate key, a bad value: StoreError.rejectsData) is undone and the INSERT runs instead,
 * which skips duplicates and lets the caller isolate a bad row as before.
 */
async function copyFirst(tx: Queryable, load: NonNullable<Queryable['copyFrom']>, statement: Statement, copy: CopyPolicy): Promise<number> {
  await tx.query(`SAVEPOINT ${COPY_SAVEPOINT}`);
  try {
    const copied = await load(statement.copySql!, copyText(statement.params as unknown[][]));
    await tx.query(`RELEASE SAVEPOINT ${COPY_SAVEPOINT}`);
    return copied;
  } catch (err) {
    if (!toStoreError(err, 'COPY failed').rejectsData) throw err;
    await tx.query(`ROLLBACK TO SAVEPOINT ${COPY_SAVEPOINT}`);
    return insert(tx, statement, copy);
  }
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
