import type { DeadLetterEvent } from '../core/events.js';
import type { Logger } from '../ops/logger.js';
import type { Queryable } from './database.js';
import { type StoreError, toStoreError } from './errors.js';
import { TABLE_WRITES } from './rows.js';

/**
 * Writes `items` with `write`; when the database refuses a value in them (`StoreError.rejectsData`:
 * out of range, check constraint, bad encoding — retrying never helps), halves the batch until the
 * offending items are isolated and hands each to `reject`, so that one bad row never blocks the
 * others nor loops forever. Any other failure is thrown for the caller's retry policy.
 * Returns what each successful `write` returned, and how many items were rejected.
 */
export async function writeIsolating<T, R>(
  items: readonly T[],
  write: (items: readonly T[]) => Promise<R>,
  reject: (item: T, err: StoreError) => Promise<void>,
): Promise<{ results: R[]; rejected: number }> {
  try {
    return { results: [await write(items)], rejected: 0 };
  } catch (err) {
    const e = toStoreError(err, 'batch write failed');
    if (!e.rejectsData) throw e;
    if (items.length === 1) {
      await reject(items[0] as T, e);
      return { results: [], rejected: 1 };
    }
    const half = Math.ceil(items.length / 2);
    const first = await writeIsolating(items.slice(0, half), write, reject);
    const second = await writeIsolating(items.slice(half), write, reject);
    return { results: [...first.results, ...second.results], rejected: first.rejected + second.rejected };
  }
}

const deadLetters = TABLE_WRITES.find((w) => w.table === 'dead_letters') as (typeof TABLE_WRITES)[number];

/**
 * Inserts one dead letter; returns rows inserted (0 for a copy already stored). A letter the
 * database refuses even so (it cannot hold its text) is logged and dropped rather than retried forever.
 */
export async function storeDeadLetter(db: Queryable, letter: DeadLetterEvent, logger: Logger): Promise<number> {
  try {
    const rows = await db.query<{ n: number }>(deadLetters.sql, deadLetters.params([letter]));
    return Number(rows[0]?.n ?? 0);
  } catch (err) {
    const e = toStoreError(err, 'dead letter write failed');
    if (!e.rejectsData) throw e;
    logger.error({ err: e.message, raw: letter.raw.slice(0, 500) }, 'row not storable even as a dead letter; dropped');
    return 0;
  }
}

/** A record as dead-letter text: JSON escapes control characters (a NUL is what PostgreSQL text refuses); bigints become strings. */
export function rawOf(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(value);
  } catch {
    return String(value);
  }
}
