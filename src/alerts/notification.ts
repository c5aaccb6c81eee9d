import { createHash } from 'node:crypto';
import type { Instrument } from '../core/events.js';
import type { AlertTransition, TransitionState } from './engine.js';

/**
 * One alert inside a notification, as the webhook's JSON carries it: the engine's transition with
 * the rule by name and condition, no instrument as null, and the dashboard link.
 */
export type AlertPayload = Omit<AlertTransition, 'rule' | 'instrument'> & {
  readonly rule: string;
  readonly condition: string;
  readonly instrument: Instrument | null;
  readonly dashboardUrl: string;
};

/**
 * What a notifier sends: the alerts of one group (a rule, or a rule and instrument) that changed in
 * the same evaluation, with a subject, a plain-text and an HTML body that state rule, symbol,
 * value, threshold and a dashboard link. `key` (the idempotency key) is the same on every retry and
 * after a restart.
 */
export interface Notification {
  readonly key: string;
  readonly rule: string;
  readonly state: TransitionState;
  readonly subject: string;
  readonly text: string;
  readonly html: string;
  readonly alerts: readonly AlertPayload[];
}

/** The dashboard link of an alert: the instrument's chart, or the dashboard itself. */
export function dashboardLink(base: string, instrument: Instrument | undefined): string {
  const root = base.replace(/\/+$/, '');
  return instrument ? `${root}/#${instrument.exchange}:${instrument.market}/${instrument.symbol}/1m` : `${root}/`;
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Groups one evaluation's transitions (by rule and state, and by key unless the rule groups by rule) into notifications. */
export function notificationsOf(transitions: readonly AlertTransition[], dashboardUrl: string): Notification[] {
  const groups = new Map<string, AlertTransition[]>();
  for (const t of transitions) {
    const id = `${t.rule.name}\u0000${t.state}\u0000${t.rule.group === 'rule' ? '' : t.key}`;
    groups.set(id, [...(groups.get(id) ?? []), t]);
  }
  return [...groups.values()].map((members) => notificationOf(members, dashboardUrl));
}

function notificationOf(members: readonly AlertTransition[], dashboardUrl: string): Notification {
  const first = members[0] as AlertTransition;
  const alerts: AlertPayload[] = members.map((t) => ({
    rule: t.rule.name,
    condition: t.rule.condition,
    state: t.state,
    key: t.key,
    instrument: t.instrument ?? null,
    value: t.value,
    threshold: t.threshold,
    activeAt: t.activeAt,
    at: t.at,
    message: t.message,
    idempotencyKey: t.idempotencyKey,
    dashboardUrl: dashboardLink(dashboardUrl, t.instrument),
  }));
  const tag = first.state === 'resolved' ? 'RESOLVED' : first.state === 'repeat' ? 'STILL FIRING' : 'FIRING';
  const what = members.length === 1 ? (first.instrument?.symbol ?? (first.key || 'pipeline')) : `${members.length} alerts`;
  const subject = `[tickflow ${tag}] ${first.rule.name}: ${what}`;
  const lines = alerts.map((a) =>
    [
      a.message,
      `  rule: ${a.rule} (${a.condition})`,
      `  symbol: ${a.instrument ? `${a.instrument.symbol} on ${a.instrument.exchange} ${a.instrument.market}` : a.key || '-'}`,
      `  value: ${a.value ?? 'no data'}`,
      `  threshold: ${a.threshold}`,
      `  since: ${new Date(a.activeAt).toISOString()}`,
      `  dashboard: ${a.dashboardUrl}`,
    ].join('\n'),
  );
  const rows = alerts
    .map(
      (a) =>
        `<tr><td>${escapeHtml(a.rule)}</td><td>${escapeHtml(a.instrument?.symbol ?? (a.key || '-'))}</td><td>${a.value ?? 'no data'}</td>` +
        `<td>${a.threshold}</td><td>${new Date(a.activeAt).toISOString()}</td><td><a href="${escapeHtml(a.dashboardUrl)}">dashboard</a></td></tr>` +
        `<tr><td colspan="6">${escapeHtml(a.message)}</td></tr>`,
    )
    .join('');
  return {
    key: createHash('sha256')
      .update(
        alerts
          .map((a) => a.idempotencyKey)
          .sort()
          .join(','),
      )
      .digest('hex'),
    rule: first.rule.name,
    state: first.state,
    subject,
    text: `${lines.join('\n\n')}\n`,
    html:
      `<h2>${escapeHtml(subject)}</h2><table border="1" cellpadding="4">` +
      `<tr><th>rule</th><th>symbol</th><th>value</th><th>threshold</th><th>since</th><th>link</th></tr>${rows}</table>`,
    alerts,
  };
}
