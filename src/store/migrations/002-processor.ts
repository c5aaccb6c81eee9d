import type { Migration } from './migration.js';

/**
 * The stream processor's outputs (docs/processing.md). Window tables are upserted on
 * (symbol, interval, window_start): partial values while a window is open, replaced by the final
 * value. They stay plain tables (kept for good, one row per symbol and window); whale trades and
 * late events grow with the market and expire like the raw data. `source_offset` is the highest
 * bus offset folded into a window: after a crash the processor replays from its committed offset
 * and skips what a stored final window already holds.
 */
export const migration002: Migration = {
  version: 2,
  name: 'processor',
  timeSeries: [
    {
      // trade_id is the trade id, or the aggTrade id when the processor consumes aggTrades.
      name: 'whale_trades',
      timeColumn: 'trade_time',
      definition: `
        symbol text NOT NULL,
        trade_id bigint NOT NULL,
        trade_time timestamptz NOT NULL,
        price numeric NOT NULL,
        quantity numeric NOT NULL,
        notional numeric NOT NULL,
        side text NOT NULL CHECK (side IN ('buy', 'sell')),
        UNIQUE (symbol, trade_id, trade_time)`,
    },
    {
      // One row per (event, window kind) it was late for; source/offset identify the bus record.
      name: 'late_events',
      timeColumn: 'event_time',
      definition: `
        source text NOT NULL,
        "offset" bigint NOT NULL,
        target text NOT NULL,
        symbol text NOT NULL,
        event_time timestamptz NOT NULL,
        watermark_ms bigint,
        reason text NOT NULL CHECK (reason IN ('late', 'beyond_retention')),
        event jsonb NOT NULL,
        UNIQUE (source, "offset", target, event_time)`,
    },
  ],
  sql: `
    CREATE TABLE IF NOT EXISTS candles (
      symbol text NOT NULL,
      interval text NOT NULL,
      window_start timestamptz NOT NULL,
      window_end timestamptz NOT NULL,
      open numeric NOT NULL,
      high numeric NOT NULL,
      low numeric NOT NULL,
      close numeric NOT NULL,
      volume numeric NOT NULL,
      quote_volume numeric NOT NULL,
      trade_count bigint NOT NULL,
      taker_buy_volume numeric NOT NULL,
      taker_buy_quote_volume numeric NOT NULL,
      vwap numeric,
      first_trade_id bigint NOT NULL,
      last_trade_id bigint NOT NULL,
      indicators jsonb NOT NULL,
      is_final boolean NOT NULL,
      is_complete boolean NOT NULL,
      source_offset bigint NOT NULL,
      PRIMARY KEY (symbol, interval, window_start)
    );
    CREATE TABLE IF NOT EXISTS trade_metrics (
      symbol text NOT NULL,
      interval text NOT NULL,
      window_start timestamptz NOT NULL,
      window_end timestamptz NOT NULL,
      vwap numeric,
      price_stddev double precision NOT NULL,
      trade_count bigint NOT NULL,
      volume numeric NOT NULL,
      quote_volume numeric NOT NULL,
      buy_volume numeric NOT NULL,
      sell_volume numeric NOT NULL,
      buy_sell_ratio numeric,
      largest_trade_qty numeric NOT NULL,
      largest_trade_notional numeric NOT NULL,
      open numeric NOT NULL,
      close numeric NOT NULL,
      first_trade_id bigint NOT NULL,
      last_trade_id bigint NOT NULL,
      samples bigint NOT NULL,
      price_mean double precision NOT NULL,
      price_m2 double precision NOT NULL,
      volatility_alert boolean NOT NULL,
      volume_spike boolean NOT NULL,
      price_move boolean NOT NULL,
      is_final boolean NOT NULL,
      source_offset bigint NOT NULL,
      PRIMARY KEY (symbol, interval, window_start)
    );
    CREATE TABLE IF NOT EXISTS spread_metrics (
      symbol text NOT NULL,
      interval text NOT NULL,
      window_start timestamptz NOT NULL,
      window_end timestamptz NOT NULL,
      avg_spread numeric NOT NULL,
      min_spread numeric NOT NULL,
      max_spread numeric NOT NULL,
      avg_spread_bps double precision NOT NULL,
      avg_mid numeric NOT NULL,
      update_count bigint NOT NULL,
      sum_spread numeric NOT NULL,
      sum_bid_plus_ask numeric NOT NULL,
      sum_bps double precision NOT NULL,
      spread_warning boolean NOT NULL,
      is_final boolean NOT NULL,
      source_offset bigint NOT NULL,
      PRIMARY KEY (symbol, interval, window_start)
    );
    CREATE INDEX IF NOT EXISTS candles_interval_time ON candles (interval, window_start DESC);
    CREATE INDEX IF NOT EXISTS whale_trades_symbol_time ON whale_trades (symbol, trade_time DESC);
  `,
};
