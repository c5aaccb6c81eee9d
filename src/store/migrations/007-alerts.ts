import type { Migration } from './migration.js';

/**
 * Alert state and history (issue 12).
 * - alert_events: one row per alert transition (firing, repeat, resolved), keyed by an idempotency
 *   key made from the rule, the alert (instrument, stream or consumer group) and the time the
 *   condition began (event time for market conditions): a restart or a replay that reaches the same
 *   transition again finds its row and sends nothing. The newest row per (rule, alert_key) is the
 *   alert's current state, reloaded at start-up.
 * - alert_deliveries: the outbox, one row per notification and notifier with the payload to send;
 *   delivered_at is set once the notifier accepted it. Undelivered rows are retried, so a crash
 *   between recording and sending loses nothing.
 */
export const migration007: Migration = {
  version: 7,
  name: 'alerts',
  sql: `
    CREATE TABLE IF NOT EXISTS alert_events (
      id bigserial PRIMARY KEY,
      idempotency_key text NOT NULL UNIQUE,
      notification_key text NOT NULL,
      rule text NOT NULL,
      condition text NOT NULL,
      alert_key text NOT NULL,
      exchange text,
      market text,
      symbol text,
      state text NOT NULL CHECK (state IN ('firing', 'repeat', 'resolved')),
      value double precision,
      threshold double precision NOT NULL,
      active_at timestamptz NOT NULL,
      at timestamptz NOT NULL,
      message text NOT NULL
    );
    CREATE INDEX IF NOT EXISTS alert_events_at ON alert_events (at DESC);
    CREATE INDEX IF NOT EXISTS alert_events_alert ON alert_events (rule, alert_key, id DESC);
    CREATE TABLE IF NOT EXISTS alert_deliveries (
      notification_key text NOT NULL,
      notifier text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL DEFAULT now(),
      attempts integer NOT NULL DEFAULT 0,
      delivered_at timestamptz,
      last_error text,
      PRIMARY KEY (notification_key, notifier)
    );
    CREATE INDEX IF NOT EXISTS alert_deliveries_pending ON alert_deliveries (created_at) WHERE delivered_at IS NULL;
  `,
};
