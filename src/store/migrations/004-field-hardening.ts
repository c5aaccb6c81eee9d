import type { Migration } from './migration.js';

/**
 * Field hardening (issue 9):
 * - `trades.trade_type`: USD-M `X` as sent (INSURANCE_FUND, ADL, NA trades are stored, not dropped;
 *   NULL for spot trades and aggTrades, which carry no type and are all market trades);
 * - `depth_snapshots`: the REST order-book snapshots that Binance recorders write between the
 *   stream frames, kept for the local order book;
 * - `dead_letters.seq` joins the natural key, so identical bad frames received in the same
 *   millisecond are each kept while a redelivered dead letter stays one row. The old key is found
 *   by catalog lookup rather than by its generated name.
 */
export const migration004: Migration = {
  version: 4,
  name: 'field-hardening',
  timeSeries: [
    {
      // bids/asks: JSON arrays of [price, quantity] string pairs, as the exchange sent them.
      name: 'depth_snapshots',
      timeColumn: 'event_time',
      definition: `
        exchange text NOT NULL,
        market text NOT NULL,
        symbol text NOT NULL,
        last_update_id bigint NOT NULL,
        transaction_time timestamptz,
        event_time timestamptz NOT NULL,
        ingestion_timestamp timestamptz NOT NULL,
        bids jsonb NOT NULL,
        asks jsonb NOT NULL,
        UNIQUE (exchange, market, symbol, last_update_id, event_time)`,
    },
  ],
  sql: `
    ALTER TABLE trades ADD COLUMN IF NOT EXISTS trade_type text;
    ALTER TABLE dead_letters ADD COLUMN IF NOT EXISTS seq bigint NOT NULL DEFAULT 0;
    DO $$
    DECLARE c text;
    BEGIN
      FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'dead_letters'::regclass AND contype = 'u' AND conparentid = 0 LOOP
        EXECUTE format('ALTER TABLE dead_letters DROP CONSTRAINT %I', c);
      END LOOP;
    END $$;
    ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_natural_key UNIQUE (origin, reason, raw_md5, received_at, seq);
    CREATE INDEX IF NOT EXISTS depth_snapshots_symbol_time ON depth_snapshots (symbol, event_time DESC);
  `,
};
