import type { Config } from '../config/schema.js';
import type { Queryable } from './database.js';

/** The highest id stored for one (symbol, stream): where the source's gap detection continues. */
export interface LastStoredId {
  readonly symbol: string;
  readonly stream: 'trade' | 'aggTrade';
  readonly lastId: number;
}

/**
 * The last trade and aggTrade id stored per configured symbol and subscribed stream, for a source
 * that starts on a database an earlier process wrote (kill -9, SIGTERM, a crash): the ids between
 * these and the first ones received are a gap. The latest row by `trade_time` (the
 * `trades_symbol_time` index) holds the highest id, since Binance ids grow with time.
 */
export async function lastStoredIds(db: Queryable, source: Pick<Config['source'], 'market' | 'symbols' | 'streams'>): Promise<LastStoredId[]> {
  const streams = (['trade', 'aggTrade'] as const).filter((s) => source.streams.includes(s));
  const out: LastStoredId[] = [];
  for (const symbol of source.symbols) {
    for (const stream of streams) {
      const rows = await db.query<{ id: string }>(
        `SELECT trade_id::text AS id FROM trades WHERE symbol = $1 AND exchange = 'binance' AND market = $2 AND kind = $3
         ORDER BY trade_time DESC, trade_id DESC LIMIT 1`,
        [symbol, source.market, stream],
      );
      const id = rows[0]?.id;
      if (id !== undefined) out.push({ symbol, stream, lastId: Number(id) });
    }
  }
  return out;
}
