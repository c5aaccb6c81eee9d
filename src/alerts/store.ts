import type { AlertRule } from '../config/schema.js';
import type { Instrument } from '../core/events.js';
import type { Queryable } from '../store/database.js';
import type { AlertTransition, RestoredAlert } from './engine.js';
import type { Notification } from './notification.js';

/**
 * alert_events and alert_deliveries (migration 007): the history, the current state, and the
 * outbox of notifications. Every statement is parameterized; times are epoch ms at this boundary.
 */

const iso = (ms: number): string => new Date(ms).toISOString();
const epochMs = (column: string): string => `(extract(epoch FROM ${column}) * 1000)::float8`;

/**
 * Records a notification's transitions and queues it for `notifiers`, in one transaction. A
 * transition already recorded (same idempotency key: a restart or a replay reached it again) is
 * skipped, and so are deliveries already queued: nothing is sent twice.
 * Returns how many transitions were new.
 */
export async function recordNotification(
  tx: Queryable,
  notification: Notification,
  transitions: readonly AlertTransition[],
  notifiers: readonly string[],
): Promise<number> {
  let fresh = 0;
  for (const t of transitions) {
    const rows = await tx.query(
      `INSERT INTO alert_events (idempotency_key, notification_key, rule, condition, alert_key, exchange, market, symbol, state, value, threshold, active_at, at, message)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
       ON CONFLICT (idempotency_key) DO NOTHING RETURNING id`,
      [
        t.idempotencyKey,
        notification.key,
        t.rule.name,
        t.rule.condition,
        t.key,
        t.instrument?.exchange ?? null,
        t.instrument?.market ?? null,
        t.instrument?.symbol ?? null,
        t.state,
        t.value,
        t.threshold,
        iso(t.activeAt),
        iso(t.at),
        t.message,
      ],
    );
    fresh += rows.length;
  }
  // A notification whose every transition was recorded before has been queued before too.
  if (fresh === 0) return 0;
  for (const notifier of notifiers) {
    await tx.query(`INSERT INTO alert_deliveries (notification_key, notifier, payload) VALUES ($1, $2, $3::jsonb) ON CONFLICT DO NOTHING`, [
      notification.key,
      notifier,
      JSON.stringify(notification),
    ]);
  }
  return fresh;
}

/** A queued notification for one notifier (`smtp`, `webhook`) and how many attempts it has had. */
export interface PendingDelivery {
  readonly notifier: string;
  readonly attempts: number;
  readonly notification: Notification;
}

/** Queued notifications not yet accepted by their notifier, oldest first, fewer than `maxAttempts` tries. */
export async function pendingDeliveries(db: Queryable, maxAttempts: number, limit = 100): Promise<PendingDelivery[]> {
  const rows = await db.query<{ notifier: string; attempts: number; payload: unknown }>(
    `SELECT notifier, attempts, payload FROM alert_deliveries WHERE delivered_at IS NULL AND attempts < $1 ORDER BY created_at LIMIT $2`,
    [maxAttempts, limit],
  );
  return rows.map((r) => ({
    notifier: r.notifier,
    attempts: Number(r.attempts),
    notification: (typeof r.payload === 'string' ? JSON.parse(r.payload) : r.payload) as Notification,
  }));
}

/**
 * The notifier accepted notification `key`: sets alert_deliveries.delivered_at, counts the attempt and clears
 * last_error, so pendingDeliveries no longer returns it. Errors are the database's.
 */
export async function markDelivered(db: Queryable, key: string, notifier: string): Promise<void> {
  await db.query(`UPDATE alert_deliveries SET delivered_at = now(), attempts = attempts + 1, last_error = NULL WHERE notification_key = $1 AND notifier = $2`, [
    key,
    notifier,
  ]);
}

/**
 * Notification `key` failed at `notifier`: counts the attempt and keeps `error` (its first 2,000 characters);
 * it stays pending until it reaches the retry limit pendingDeliveries is given. Errors are the database's.
 */
export async function markFailed(db: Queryable, key: string, notifier: string, error: string): Promise<void> {
  await db.query(`UPDATE alert_deliveries SET attempts = attempts + 1, last_error = $3 WHERE notification_key = $1 AND notifier = $2`, [
    key,
    notifier,
    error.slice(0, 2_000),
  ]);
}

/** Alerts whose newest transition is firing or repeat: still firing when the process stopped. */
export async function firingAlerts(db: Queryable): Promise<RestoredAlert[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT e.rule, e.alert_key, e.exchange, e.market, e.symbol, e.value, e.threshold, ${epochMs('e.active_at')} AS active_ms, ${epochMs('e.at')} AS at_ms,
            (SELECT count(*) FROM alert_events r WHERE r.rule = e.rule AND r.alert_key = e.alert_key AND r.active_at = e.active_at AND r.state = 'repeat')::int AS repeats
     FROM (SELECT DISTINCT ON (rule, alert_key) * FROM alert_events ORDER BY rule, alert_key, id DESC) e
     WHERE e.state <> 'resolved'`,
  );
  return rows.map((r) => ({
    rule: String(r.rule),
    key: String(r.alert_key),
    instrument: instrumentOfRow(r),
    value: r.value === null ? null : Number(r.value),
    threshold: Number(r.threshold),
    activeAt: Math.round(Number(r.active_ms)),
    lastSentAt: Math.round(Number(r.at_ms)),
    repeats: Number(r.repeats),
  }));
}

/** One row of the alert history (GET /api/alerts). */
export interface AlertHistoryEntry {
  readonly rule: string;
  readonly condition: AlertRule['condition'];
  readonly key: string;
  readonly instrument: Instrument | null;
  readonly state: 'firing' | 'repeat' | 'resolved';
  readonly value: number | null;
  readonly threshold: number;
  readonly activeAt: number;
  readonly at: number;
  readonly message: string;
}

/** Transitions, newest first; optionally of one rule, from a time. */
export async function alertHistory(
  db: Queryable,
  filter: { rule?: string | undefined; from?: number | undefined; limit: number },
): Promise<AlertHistoryEntry[]> {
  const params: unknown[] = [filter.limit];
  let where = 'TRUE';
  if (filter.rule !== undefined) {
    params.push(filter.rule);
    where += ` AND rule = $${params.length}`;
  }
  if (filter.from !== undefined) {
    params.push(iso(filter.from));
    where += ` AND at >= $${params.length}`;
  }
  const rows = await db.query<Record<string, unknown>>(
    `SELECT rule, condition, alert_key, exchange, market, symbol, state, value, threshold, ${epochMs('active_at')} AS active_ms, ${epochMs('at')} AS at_ms, message
     FROM alert_events WHERE ${where} ORDER BY id DESC LIMIT $1`,
    params,
  );
  return rows.map((r) => ({
    rule: String(r.rule),
    condition: String(r.condition) as AlertHistoryEntry['condition'],
    key: String(r.alert_key),
    instrument: instrumentOfRow(r) ?? null,
    state: String(r.state) as AlertHistoryEntry['state'],
    value: r.value === null ? null : Number(r.value),
    threshold: Number(r.threshold),
    activeAt: Math.round(Number(r.active_ms)),
    at: Math.round(Number(r.at_ms)),
    message: String(r.message),
  }));
}

/** Unhealed gaps per instrument and stream detected since `sinceMs` (heal status from migration 006). */
export async function unhealedGaps(db: Queryable, sinceMs: number): Promise<{ instrument: Instrument; stream: string; count: number; since: number }[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT exchange, market, symbol, stream, count(*)::int AS n, ${epochMs('min(detected_at)')} AS since_ms FROM gaps
     WHERE detected_at >= $1 AND heal_status IS DISTINCT FROM 'healed' GROUP BY exchange, market, symbol, stream`,
    [iso(sinceMs)],
  );
  return rows.map((r) => ({
    instrument: instrumentOfRow(r) as Instrument,
    stream: String(r.stream),
    count: Number(r.n),
    since: Math.round(Number(r.since_ms)),
  }));
}

function instrumentOfRow(r: Record<string, unknown>): Instrument | undefined {
  return typeof r.symbol === 'string' ? { exchange: String(r.exchange), market: String(r.market), symbol: r.symbol } : undefined;
}
