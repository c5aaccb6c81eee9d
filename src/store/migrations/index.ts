import { migration001 } from './001-core.js';
import { migration002 } from './002-processor.js';
import { migration004 } from './004-field-hardening.js';
import { migration003 } from './003-instrument-identity.js';
import { migration006 } from './006-book-import.js';
import { migration007 } from './007-alerts.js';
import { migration008 } from './008-kinesis-checkpoints.js';
import { migration009 } from './009-heal.js';
import { migration010 } from './010-volume-baseline.js';
import type { Migration } from './migration.js';

export type { Migration, TimeSeriesTable } from './migration.js';

/**
 * Every schema version, in order. To add one: create `NNN-<name>.ts` exporting a `Migration`
 * with the next version number, append it here, never edit one that has shipped. Reserved:
 * 002 — the stream processor's candles, trade_metrics, spread_metrics, whale_trades, late_events;
 * 003 — instrument identity (issue 13); 004 — field hardening (issue 9);
 * 006 — book_snapshots, imported_files, gap healing columns, backfill_checkpoints;
 * 007 — alert_events and alert_deliveries (issue 12);
 * 008 — kinesis_checkpoints (the Kinesis bus's per-shard read positions);
 * 009 — gaps.heal_error and the index of gaps still to heal;
 * 010 — trade_metrics.volume_baseline (a reloaded window keeps the baseline its spike was judged by).
 */
export const migrations: readonly Migration[] = [
  migration001,
  migration002,
  migration003,
  migration004,
  migration006,
  migration007,
  migration008,
  migration009,
  migration010,
];
