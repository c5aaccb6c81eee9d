import type { BookView } from '../book/book-keeper.js';
import type { Instrument, PriceLevel } from '../core/events.js';
import type { Queryable } from '../store/database.js';
import type { BookResponse } from './contract.js';

/** Where GET /api/book reads a live book, when the process keeps one (`tickflow run`, `ingest`). */
export type LiveBookLookup = (instrument: Instrument, depth: number) => BookView | null;

/**
 * The body of GET /api/book (contract.ts BookResponse): the best `depth` levels per side, best
 * first, `[price, qty]` decimal strings. From the live book when there is one in step (`source:
 * live`), else the latest book_snapshots row cut to `depth` (`stored`, e.g. in `tickflow serve`),
 * else an empty book (`none`, `updateId` and `time` null) — not an error: a book that is still
 * starting is a normal state. `time`: the exchange time the levels reflect, epoch ms. Errors are
 * the database's.
 */
export async function bookResponse(db: Queryable, live: LiveBookLookup | undefined, instrument: Instrument, depth: number): Promise<BookResponse> {
  const view = live?.(instrument, depth) ?? null;
  if (view !== null) return { ...instrument, source: 'live', updateId: view.updateId, time: view.at, depth, bids: view.bids, asks: view.asks };
  const params = [instrument.exchange, instrument.market, instrument.symbol];
  const [row] = await db.query<{ update_id: string | number; time_ms: number; bids: unknown; asks: unknown }>(
    `SELECT update_id, (extract(epoch from taken_at) * 1000)::float8 AS time_ms, bids, asks FROM book_snapshots
     WHERE exchange = $1 AND market = $2 AND symbol = $3 ORDER BY taken_at DESC LIMIT 1`,
    params,
  );
  if (row === undefined) return { ...instrument, source: 'none', updateId: null, time: null, depth, bids: [], asks: [] };
  return {
    ...instrument,
    source: 'stored',
    updateId: Number(row.update_id),
    time: Number(row.time_ms),
    depth,
    bids: levels(row.bids).slice(0, depth),
    asks: levels(row.asks).slice(0, depth),
  };
}

/** jsonb arrives parsed from node-postgres and PGlite alike; text is parsed for other drivers. */
function levels(v: unknown): PriceLevel[] {
  const parsed: unknown = typeof v === 'string' ? JSON.parse(v) : v;
  return Array.isArray(parsed) ? (parsed as PriceLevel[]) : [];
}
