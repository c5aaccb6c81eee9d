import type { Instrument } from '../core/events.js';
import type { Queryable } from '../store/database.js';

/**
 * The gaps table as healing sees it: which trade/aggTrade gaps still need ids, and what healing
 * did to each (migration 006 heal_status / heal_rows / healed_at, 009 heal_error).
 */

/** How a heal ended: every missing id stored, some of them (REST no longer keeps the rest, or the gap is over heal.maxIdsPerGap), or none. */
export type HealStatus = 'healed' | 'partial' | 'failed';

/** A trade or aggTrade gap row still to heal. Ids inclusive. */
export interface GapToHeal extends Instrument {
  readonly stream: 'trade' | 'aggTrade';
  readonly firstMissingId: number;
  readonly lastMissingId: number;
  /** Epoch ms. */
  readonly detectedAt: number;
  /** detected_at exactly as stored (µs), the row's key together with the instrument, stream and first id. */
  readonly detectedAtText: string;
}

/** What healing did to one gap. */
export interface HealOutcome {
  readonly status: HealStatus;
  /** Ids REST returned inside the gap (stored now or already). */
  readonly rows: number;
  /** Why it is partial or failed; undefined when healed. */
  readonly error?: string;
}

/** `exchange:market:symbol:stream:first:detected_at`: a gap row's identity. */
export function gapKey(g: GapToHeal): string {
  return `${g.exchange}:${g.market}:${g.symbol}:${g.stream}:${g.firstMissingId}:${g.detectedAtText}`;
}

/**
 * Up to `limit` trade/aggTrade gaps of the given markets not healed yet, oldest first; with
 * `retryFailed`, failed ones too (a start-up gives each another chance once).
 */
export async function gapsToHeal(db: Queryable, markets: readonly string[], limit: number, retryFailed: boolean): Promise<GapToHeal[]> {
  const rows = await db.query<{
    exchange: string;
    market: string;
    symbol: string;
    stream: 'trade' | 'aggTrade';
    first: number;
    last: number;
    at: number;
    at_text: string;
  }>(
    `SELECT exchange, market, symbol, stream, first_missing_id::float8 AS first, last_missing_id::float8 AS last,
            (extract(epoch from detected_at) * 1000)::float8 AS at, detected_at::text AS at_text
     FROM gaps
     WHERE (heal_status IS NULL${retryFailed ? " OR heal_status = 'failed'" : ''}) AND stream IN ('trade', 'aggTrade') AND market = ANY($1::text[])
     ORDER BY detected_at LIMIT $2`,
    [markets, limit],
  );
  return rows.map((r) => ({
    exchange: r.exchange,
    market: r.market,
    symbol: r.symbol,
    stream: r.stream,
    firstMissingId: Number(r.first),
    lastMissingId: Number(r.last),
    detectedAt: Math.round(Number(r.at)),
    detectedAtText: r.at_text,
  }));
}

/** Writes what healing did to the gap row. */
export async function recordHeal(db: Queryable, gap: GapToHeal, outcome: HealOutcome): Promise<void> {
  await db.query(
    `UPDATE gaps SET heal_status = $1, heal_rows = $2, heal_error = $3, healed_at = now()
     WHERE exchange = $4 AND market = $5 AND symbol = $6 AND stream = $7 AND first_missing_id = $8 AND detected_at = $9::timestamptz`,
    [outcome.status, outcome.rows, outcome.error ?? null, gap.exchange, gap.market, gap.symbol, gap.stream, gap.firstMissingId, gap.detectedAtText],
  );
}

/** The ids of `kind` already stored for `instrument` from `first` to `last` (inclusive). */
export async function storedIds(db: Queryable, instrument: Instrument, kind: 'trade' | 'aggTrade', first: number, last: number): Promise<Set<number>> {
  const rows = await db.query<{ id: number }>(
    `SELECT trade_id::float8 AS id FROM trades
     WHERE exchange = $1 AND market = $2 AND symbol = $3 AND kind = $4 AND trade_id BETWEEN $5 AND $6`,
    [instrument.exchange, instrument.market, instrument.symbol, kind, first, last],
  );
  return new Set(rows.map((r) => Number(r.id)));
}
