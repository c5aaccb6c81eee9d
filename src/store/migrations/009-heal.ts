import type { Migration } from './migration.js';

/**
 * Gap healing bookkeeping beyond migration 006's heal_status / heal_rows / healed_at:
 * - gaps.heal_error: why a gap is partial or failed (REST no longer keeps the ids, the request
 *   was refused), so /api/gaps says what happened without a log search;
 * - an index on the trade/aggTrade gaps not yet healed: the healer reads them every poll.
 */
export const migration009: Migration = {
  version: 9,
  name: 'heal',
  sql: `
    ALTER TABLE gaps ADD COLUMN IF NOT EXISTS heal_error text;
    CREATE INDEX IF NOT EXISTS gaps_unhealed ON gaps (detected_at) WHERE heal_status IS NULL AND stream IN ('trade', 'aggTrade');
  `,
};
