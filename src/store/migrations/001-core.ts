import type { Migration } from './migration.js';

/**
 * The raw market data, exactly as received: NUMERIC keeps the exchange's decimal strings
 * (including trailing zeros), TIMESTAMPTZ keeps microseconds. Natural keys make redelivery from
 * the bus harmless (`ON CONFLICT DO NOTHING`); each includes its table's time column because a
 * partitioned table can only enforce uniqueness within a partition.
 */
export const migration001: Migration = {
  version: 1,
  name: 'core',
  timeSeries: [
    {
      // trade and aggTrade ids are separate sequences: `kind` keeps a trade and an aggTrade with the same id apart.
      name: 'trades',
      timeColumn: 'trade_time',
      definition: `
        exchange text NOT NULL,
        market text NOT NULL,
        symbol text NOT NULL,
        kind text NOT NULL CHECK (kind IN ('trade', 'aggTrade')),
        trade_id bigint NOT NULL,
        price numeric NOT NULL,
        quantity numeric NOT NULL,
        first_trade_id bigint,
        last_trade_id bigint,
        buyer_is_maker boolean NOT NULL,
        trade_time timestamptz NOT NULL,
        event_time timestamptz NOT NULL,
        ingestion_timestamp timestamptz NOT NULL,
        UNIQUE (exchange, market, symbol, kind, trade_id, trade_time)`,
    },
    {
      name: 'book_ticker',
      timeColumn: 'event_time',
      definition: `
        exchange text NOT NULL,
        market text NOT NULL,
        symbol text NOT NULL,
        update_id bigint NOT NULL,
        bid_price numeric NOT NULL,
        bid_qty numeric NOT NULL,
        ask_price numeric NOT NULL,
        ask_qty numeric NOT NULL,
        transaction_time timestamptz,
        event_time timestamptz NOT NULL,
        ingestion_timestamp timestamptz NOT NULL,
        UNIQUE (exchange, market, symbol, update_id, event_time)`,
    },
    {
      // bids/asks: JSON arrays of [price, quantity] string pairs, as the exchange sent them.
      name: 'depth_updates',
      timeColumn: 'event_time',
      definition: `
        exchange text NOT NULL,
        market text NOT NULL,
        symbol text NOT NULL,
        first_update_id bigint NOT NULL,
        final_update_id bigint NOT NULL,
        prev_final_update_id bigint,
        transaction_time timestamptz,
        event_time timestamptz NOT NULL,
        ingestion_timestamp timestamptz NOT NULL,
        bids jsonb NOT NULL,
        asks jsonb NOT NULL,
        UNIQUE (exchange, market, symbol, final_update_id, event_time)`,
    },
    {
      // One row per candle: Binance pushes the open candle repeatedly, the writer keeps the latest version.
      name: 'klines',
      timeColumn: 'open_time',
      definition: `
        exchange text NOT NULL,
        market text NOT NULL,
        symbol text NOT NULL,
        interval text NOT NULL,
        open_time timestamptz NOT NULL,
        close_time timestamptz NOT NULL,
        first_trade_id bigint NOT NULL,
        last_trade_id bigint NOT NULL,
        open numeric NOT NULL,
        high numeric NOT NULL,
        low numeric NOT NULL,
        close numeric NOT NULL,
        volume numeric NOT NULL,
        quote_volume numeric NOT NULL,
        trade_count bigint NOT NULL,
        taker_buy_volume numeric NOT NULL,
        taker_buy_quote_volume numeric NOT NULL,
        closed boolean NOT NULL,
        event_time timestamptz NOT NULL,
        ingestion_timestamp timestamptz NOT NULL,
        UNIQUE (exchange, market, symbol, interval, open_time)`,
    },
    {
      name: 'gaps',
      timeColumn: 'detected_at',
      definition: `
        exchange text NOT NULL,
        market text NOT NULL,
        symbol text NOT NULL,
        stream text NOT NULL,
        first_missing_id bigint NOT NULL,
        last_missing_id bigint NOT NULL,
        detected_at timestamptz NOT NULL,
        reason text NOT NULL,
        UNIQUE (exchange, market, symbol, stream, first_missing_id, detected_at)`,
    },
    {
      // raw_md5 makes a redelivered dead letter a duplicate without indexing the (unbounded) raw text.
      name: 'dead_letters',
      timeColumn: 'received_at',
      segmentBy: 'origin',
      definition: `
        origin text NOT NULL,
        reason text NOT NULL,
        detail text NOT NULL,
        raw text NOT NULL,
        raw_md5 text NOT NULL,
        received_at timestamptz NOT NULL,
        UNIQUE (origin, reason, raw_md5, received_at)`,
    },
  ],
  sql: `
    CREATE INDEX IF NOT EXISTS trades_symbol_time ON trades (symbol, trade_time DESC);
    CREATE INDEX IF NOT EXISTS book_ticker_symbol_time ON book_ticker (symbol, event_time DESC);
    CREATE INDEX IF NOT EXISTS depth_updates_symbol_time ON depth_updates (symbol, event_time DESC);
    CREATE INDEX IF NOT EXISTS klines_symbol_interval_time ON klines (symbol, interval, open_time DESC);
  `,
};
