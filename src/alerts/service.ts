import type { Config } from '../config/schema.js';
import type { GapEvent } from '../core/events.js';
import { ErrorCodes, errorMessage, TickflowError } from '../core/errors.js';
import type { Signal } from '../core/signals.js';
import type { Logger } from '../ops/logger.js';
import type { Database } from '../store/database.js';
import { describe, thresholdFor } from './conditions.js';
import { type ActiveAlert, AlertEngine, type AlertTransition, type StateProbe } from './engine.js';
import { notificationsOf, type Notification } from './notification.js';
import { createNotifiers, type Notifier, type NotifierKind } from './notifier.js';
import { firingAlerts, markDelivered, markFailed, pendingDeliveries, recordNotification } from './store.js';

/** Rounds of delivery a notification gets (each one a notifier's own retries) before it is left as failed. */
const MAX_DELIVERY_ROUNDS = 5;

/**
 * What startAlerts runs on: config (alerts.*), the database (alert_events, alert_deliveries), a
 * logger, the state probe, optionally notifiers and a clock (epoch ms).
 */
export interface AlertServiceDeps {
  readonly config: Config;
  readonly db: Database;
  readonly logger: Logger;
  /** What the state conditions read (consumer lag, connections, stream silence, unhealed gaps). */
  readonly probe: () => Promise<StateProbe>;
  /** Notifiers by kind; default: the enabled ones of config.alerts (the registry). */
  readonly notifiers?: Partial<Record<NotifierKind, Notifier>>;
  readonly now?: () => number;
}

/**
 * The running alert engine: folds signals and gaps in, evaluates every alerts.evaluateIntervalMs,
 * records transitions and delivers notifications through the outbox.
 */
export interface AlertService {
  /** Signals of the processor's stream. */
  observe(signals: readonly Signal[]): void;
  observeGap(gap: GapEvent): void;
  /** Runs one evaluation and delivery round now (the timer does the same every evaluateIntervalMs). */
  evaluate(): Promise<void>;
  active(): ActiveAlert[];
  close(): Promise<void>;
}

/**
 * The alert engine at work: reloads firing alerts from alert_events, evaluates every
 * alerts.evaluateIntervalMs, records each notification with its transitions (the outbox) before any
 * notifier sees it, then delivers what is queued and marks it delivered. Evaluations and deliveries
 * run one at a time.
 */
export async function startAlerts(deps: AlertServiceDeps): Promise<AlertService> {
  const { config, db } = deps;
  const logger = deps.logger.child({ component: 'alerts' });
  const engine = new AlertEngine(config.alerts.rules, deps.now ?? Date.now);
  engine.restore(await firingAlerts(db));
  const notifiers = deps.notifiers ?? createNotifiers(config.alerts, { logger });
  const dashboardUrl = config.alerts.dashboardUrl || `http://${config.api.host}:${config.api.port}`;
  let chain: Promise<unknown> = Promise.resolve();
  const serial = (fn: () => Promise<void>): Promise<void> => {
    const run = chain.then(fn);
    chain = run.catch(() => undefined);
    return run;
  };

  const record = async (transitions: readonly AlertTransition[]): Promise<void> => {
    for (const n of notificationsOf(transitions, dashboardUrl)) {
      const members = transitions.filter((t) => n.alerts.some((a) => a.idempotencyKey === t.idempotencyKey));
      const rule = members[0]?.rule;
      const silent = n.state === 'resolved' && rule?.sendResolved === false;
      const targets = silent ? [] : (rule?.notify ?? []).filter((k) => notifiers[k] !== undefined);
      const fresh = await db.transaction((tx) => recordNotification(tx, n, members, targets));
      if (fresh > 0) logger.info({ rule: n.rule, state: n.state, alerts: n.alerts.length, notifiers: targets }, n.subject);
    }
  };

  const deliver = async (): Promise<void> => {
    for (const p of await pendingDeliveries(db, MAX_DELIVERY_ROUNDS)) {
      const notifier = notifiers[p.notifier as NotifierKind];
      if (!notifier) continue;
      try {
        await notifier.send(p.notification);
        await markDelivered(db, p.notification.key, p.notifier);
      } catch (err) {
        await markFailed(db, p.notification.key, p.notifier, errorMessage(err));
        logger.warn({ notifier: p.notifier, rule: p.notification.rule, attempts: p.attempts + 1, err: errorMessage(err) }, 'alert notification not delivered');
      }
    }
  };

  /**
   * One evaluation: with a probe (the timer) every rule, without (as signals arrive) the rules over
   * signals and gaps. The outbox is read when this round queued something, and on every timer
   * round (retries).
   */
  const round = async (probe: StateProbe | undefined): Promise<void> => {
    const transitions = engine.evaluate(probe);
    if (transitions.length > 0) await record(transitions);
    if (probe !== undefined || transitions.length > 0) await deliver();
  };
  const evaluate = (): Promise<void> => serial(async () => round(await deps.probe()));

  const timer = setInterval(() => {
    evaluate().catch((err) => logger.error({ err: errorMessage(err) }, 'alert evaluation failed; next round retries'));
  }, config.alerts.evaluateIntervalMs);
  timer.unref();

  let closed = false;
  return {
    observe: (signals) => {
      for (const s of signals) engine.observe(s);
      // Decided as the signals arrive, not only on the timer: a replay that runs faster than real
      // time then meets every transition (and so every idempotency key) exactly as the first run did.
      if (closed) return;
      serial(() => round(undefined)).catch((err) => logger.error({ err: errorMessage(err) }, 'alert evaluation failed; next round retries'));
    },
    observeGap: (gap) => engine.observeGap(gap),
    evaluate,
    active: () => engine.active(),
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await chain;
      await Promise.all(Object.values(notifiers).map((n) => n.close()));
    },
  };
}

/** Sends a sample notification of `rule` to its notifiers (`tickflow alerts test`), bypassing state. */
export async function sendTestNotification(
  config: Config,
  ruleName: string,
  notifiers: Partial<Record<NotifierKind, Notifier>>,
  now = Date.now(),
): Promise<{ notification: Notification; sent: NotifierKind[] }> {
  const rule = config.alerts.rules.find((r) => r.name === ruleName);
  if (!rule) {
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `no alert rule "${ruleName}" in alerts.rules; configured: ${config.alerts.rules.map((r) => r.name).join(', ') || '(none)'}`,
    );
  }
  const symbol = rule.symbols[0] ?? config.source.symbols[0] ?? 'BTCUSDT';
  const instrument = { exchange: 'binance', market: config.source.market, symbol };
  const threshold = thresholdFor(rule, symbol);
  const value = threshold > 0 ? threshold * 2 : 1;
  const sample: AlertTransition = {
    rule,
    key: `${instrument.exchange}:${instrument.market}:${symbol}`,
    instrument,
    state: 'firing',
    value,
    threshold,
    activeAt: now,
    at: now,
    message: `[TEST] ${rule.name} firing on ${symbol}: ${describe(rule, value, threshold)}`,
    idempotencyKey: `test-${rule.name}-${now}`,
  };
  const [n] = notificationsOf([sample], config.alerts.dashboardUrl || `http://${config.api.host}:${config.api.port}`);
  const notification = n as Notification;
  const sent: NotifierKind[] = [];
  for (const kind of rule.notify) {
    const notifier = notifiers[kind];
    if (!notifier) continue;
    await notifier.send(notification);
    sent.push(kind);
  }
  return { notification, sent };
}
