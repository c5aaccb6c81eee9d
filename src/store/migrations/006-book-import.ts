import type { Migration } from './migration.js';

/**
 * The local order book's periodic top-N snapshots, the record of imported data.binance.vision
 * files, gap healing state and backfill checkpoints (issue 11).
 * - book_snapshots: bids/asks are JSON arrays of [price, quantity] decimal strings, best first.
 * - imported_files: one row per file imported (by its sha256), so a second import of the same file
 *   is recognised; written in the same transaction as the rows.
 * - gaps.heal_*: healed / partial / failed, how many rows REST returned, when.
 * - backfill_checkpoints: the next id or time a backfill resumes from after a kill.
 */
export const migration006: Migration = {
  version: 6,
  name: 'book-import',
  timeSeries: [
    {
      name: 'book_snapshots',
      timeColumn: 'taken_at',
      definition: `
        exchange text NOT NULL,
        market text NOT NULL,
        symbol text NOT NULL,
        update_id bigint NOT NULL,
        depth integer NOT NULL,
        bids jsonb NOT NULL,
        asks jsonb NOT NULL,
        taken_at timestamptz NOT NULL,
        UNIQUE (exchange, market, symbol, taken_at)`,
    },
  ],
  sql: `
    CREATE INDEX IF NOT EXISTS book_snapshots_symbol_time ON book_snapshots (symbol, taken_at DESC);
    CREATE TABLE IF NOT EXISTS imported_files (
      sha256 text PRIMARY KEY,
      file_name text NOT NULL,
      kind text NOT NULL,
      exchange text NOT NULL,
      market text NOT NULL,
      symbol text NOT NULL,
      rows bigint NOT NULL,
      imported_at timestamptz NOT NULL DEFAULT now()
    );
    ALTER TABLE gaps ADD COLUMN IF NOT EXISTS heal_status text;
    ALTER TABLE gaps ADD COLUMN IF NOT EXISTS heal_rows bigint;
    ALTER TABLE gaps ADD COLUMN IF NOT EXISTS healed_at timestamptz;
    CREATE TABLE IF NOT EXISTS backfill_checkpoints (
      exchange text NOT NULL,
      market text NOT NULL,
      symbol text NOT NULL,
      stream text NOT NULL,
      range_from timestamptz NOT NULL,
      range_to timestamptz NOT NULL,
      next_id bigint,
      next_time timestamptz,
      done boolean NOT NULL DEFAULT false,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (exchange, market, symbol, stream, range_from, range_to)
    );
  `,
};
