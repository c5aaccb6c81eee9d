import type { Migration } from './migration.js';

/**
 * Instrument identity (exchange, market, symbol) in the processor's tables. Until now they were
 * keyed by symbol alone, so BTCUSDT spot and the BTCUSDT perpetual overwrote each other's candles.
 *
 * Existing rows are moved, not dropped. A deployment before this version ingested one market, so
 * each stored symbol belongs to the (exchange, market) its raw rows carry: the newest trade of the
 * symbol, else its newest bookTicker (one index probe each, via the `*_symbol_time` indexes of
 * 001). A symbol with no raw rows left (expired by retention) falls back to `binance`/`spot`, the
 * defaults of the configuration that wrote it. The DEFAULTs are dropped at the end, so every new
 * row has to name its instrument.
 */

const WINDOW_TABLES = ['candles', 'trade_metrics', 'spread_metrics'] as const;
const ALL_TABLES = [...WINDOW_TABLES, 'whale_trades', 'late_events'] as const;

const addColumns = ALL_TABLES.map(
  (t) => `ALTER TABLE ${t} ADD COLUMN IF NOT EXISTS exchange text NOT NULL DEFAULT 'binance', ADD COLUMN IF NOT EXISTS market text NOT NULL DEFAULT 'spot';`,
).join('\n');

const moveRows = ALL_TABLES.map(
  (t) => `UPDATE ${t} x SET exchange = l.exchange, market = l.market FROM tickflow_migration_003 l
    WHERE x.symbol = l.symbol AND (x.exchange, x.market) IS DISTINCT FROM (l.exchange, l.market);`,
).join('\n');

const dropDefaults = ALL_TABLES.map((t) => `ALTER TABLE ${t} ALTER COLUMN exchange DROP DEFAULT, ALTER COLUMN market DROP DEFAULT;`).join('\n');

const rekeyWindows = WINDOW_TABLES.map(
  (t) => `ALTER TABLE ${t} DROP CONSTRAINT ${t}_pkey, ADD PRIMARY KEY (exchange, market, symbol, interval, window_start);`,
).join('\n');

/** Migration 3 (see above): the processor's tables keyed by (exchange, market, symbol), existing rows moved. */
export const migration003: Migration = {
  version: 3,
  name: 'instrument-identity',
  sql: `
    ${addColumns}
    CREATE TABLE tickflow_migration_003 AS
      SELECT s.symbol,
             COALESCE(t.exchange, b.exchange, 'binance') AS exchange,
             COALESCE(t.market, b.market, 'spot') AS market
      FROM (SELECT symbol FROM candles UNION SELECT symbol FROM trade_metrics UNION SELECT symbol FROM spread_metrics
            UNION SELECT symbol FROM whale_trades UNION SELECT symbol FROM late_events) s
      LEFT JOIN LATERAL (SELECT exchange, market FROM trades WHERE trades.symbol = s.symbol ORDER BY trade_time DESC LIMIT 1) t ON TRUE
      LEFT JOIN LATERAL (SELECT exchange, market FROM book_ticker WHERE book_ticker.symbol = s.symbol ORDER BY event_time DESC LIMIT 1) b ON TRUE;
    ${moveRows}
    DROP TABLE tickflow_migration_003;
    ${dropDefaults}
    ${rekeyWindows}
    ALTER TABLE whale_trades DROP CONSTRAINT whale_trades_symbol_trade_id_trade_time_key,
      ADD CONSTRAINT whale_trades_instrument_trade_key UNIQUE (exchange, market, symbol, trade_id, trade_time);
  `,
};
