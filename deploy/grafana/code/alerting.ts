import type { AlertRule, AlertRulesFile, ContactPointsFile, NotificationPoliciesFile, Panel, RowPanel } from './model.js';
import { EXPRESSIONS, POSTGRES, panelId, sql } from './panels.js';
import { MISSING_IDS, SPREAD_THRESHOLD_BPS, UNHEALED, VOLATILITY, VOLATILITY_THRESHOLD } from './queries.js';
import { RISK_PANELS, riskMonitor } from './risk-monitor.js';

/**
 * The seed's alerts as Grafana-managed rules. Each is Query (A, SQL) → Reduce (B, one number per
 * instrument) → Threshold (C), evaluated every 30 s; it fires after C has held for 1 m, and "no
 * rows" (an idle or stopped pipeline) counts as OK. String columns of A (exchange, market, symbol)
 * become labels, so each instrument alerts on its own.
 */
export const EVALUATION_INTERVAL = '30s';
export const PENDING_FOR = '1m';
/** The contact point's receiver, also the notification policy's. */
export const RECEIVER = 'tickflow-email';
/**
 * The environment variable of the Grafana container that holds the e-mail recipients (`;`
 * separated). Grafana interpolates `$NAME` in contact-point settings; SMTP itself is configured by
 * the GF_SMTP_* variables of the same container (deploy/docker-compose.yml).
 */
export const EMAIL_TO_VARIABLE = 'TICKFLOW_ALERT_EMAIL_TO';

interface RuleSpec {
  readonly uid: string;
  readonly title: string;
  /** time, then string label columns, then `value`, sorted by time (Grafana's long-to-wide conversion needs that). */
  readonly sql: string;
  /** Seconds of data before the evaluation the query sees. */
  readonly lookbackS: number;
  readonly reducer: 'last' | 'sum';
  readonly threshold: number;
  readonly panelTitle: string;
  readonly summary: string;
  readonly description: string;
}

function rule(spec: RuleSpec, panels: readonly (Panel | RowPanel)[]): AlertRule {
  return {
    uid: spec.uid,
    title: spec.title,
    condition: 'C',
    data: [
      { refId: 'A', relativeTimeRange: { from: spec.lookbackS, to: 0 }, datasourceUid: POSTGRES.uid, model: sql(spec.sql) },
      {
        refId: 'B',
        relativeTimeRange: { from: 0, to: 0 },
        datasourceUid: EXPRESSIONS.uid,
        model: { refId: 'B', datasource: EXPRESSIONS, type: 'reduce', expression: 'A', reducer: spec.reducer, settings: { mode: 'dropNN' } },
      },
      {
        refId: 'C',
        relativeTimeRange: { from: 0, to: 0 },
        datasourceUid: EXPRESSIONS.uid,
        model: {
          refId: 'C',
          datasource: EXPRESSIONS,
          type: 'threshold',
          expression: 'B',
          conditions: [{ evaluator: { type: 'gt', params: [spec.threshold] } }],
        },
      },
    ],
    dashboardUid: riskMonitor.uid,
    panelId: panelId(panels, spec.panelTitle),
    noDataState: 'OK',
    execErrState: 'Error',
    for: PENDING_FOR,
    annotations: { summary: spec.summary, description: spec.description },
    labels: { severity: 'warning', source: 'tickflow' },
    isPaused: false,
  };
}

const INSTRUMENT_LABELS = '{{ $labels.exchange }} {{ $labels.market }} {{ $labels.symbol }}';

export const ruleSpecs: readonly RuleSpec[] = [
  {
    uid: 'tickflow-volatility',
    title: 'Volatility alert',
    sql: `SELECT window_start AS time, exchange, market, symbol, ${VOLATILITY} AS value
FROM trade_metrics
WHERE $__timeFilter(window_start) AND vwap > 0
ORDER BY 1`,
    lookbackS: 300,
    reducer: 'last',
    threshold: VOLATILITY_THRESHOLD,
    panelTitle: RISK_PANELS.volatility,
    summary: `${INSTRUMENT_LABELS}: volatility {{ printf "%.5f" $values.B.Value }} is above ${VOLATILITY_THRESHOLD}`,
    description: `Price standard deviation / VWAP of the latest 1 m trade_metrics window has been above the threshold ${VOLATILITY_THRESHOLD} (processor.volatilityRatio) for ${PENDING_FOR}.`,
  },
  {
    uid: 'tickflow-spread-warning',
    title: 'Spread warning',
    sql: `SELECT window_start AS time, exchange, market, symbol, avg_spread_bps AS value
FROM spread_metrics
WHERE $__timeFilter(window_start)
ORDER BY 1`,
    lookbackS: 300,
    reducer: 'last',
    threshold: SPREAD_THRESHOLD_BPS,
    panelTitle: RISK_PANELS.spread,
    summary: `${INSTRUMENT_LABELS}: mean spread {{ printf "%.2f" $values.B.Value }} bps is above ${SPREAD_THRESHOLD_BPS} bps`,
    description: `The mean bid-ask spread of the latest 30 s spread_metrics window has been above ${SPREAD_THRESHOLD_BPS} basis points of the mid price (processor.spreadWarningBps) for ${PENDING_FOR}.`,
  },
  {
    uid: 'tickflow-gap',
    title: 'Unhealed gap',
    sql: `SELECT $__timeGroupAlias(detected_at, '1m'), exchange, market, symbol, stream, sum(${MISSING_IDS})::float8 AS value
FROM gaps
WHERE $__timeFilter(detected_at) AND ${UNHEALED}
GROUP BY 1, 2, 3, 4, 5
ORDER BY 1`,
    lookbackS: 900,
    reducer: 'sum',
    threshold: 0,
    panelTitle: RISK_PANELS.gaps,
    summary: `${INSTRUMENT_LABELS} {{ $labels.stream }}: {{ printf "%.0f" $values.B.Value }} missing ids not healed`,
    description: `Gaps detected in the last 15 minutes still miss ids after ${PENDING_FOR}: gap healing is pending, partial or failed (table gaps, heal_status).`,
  },
];

export function alertRules(): AlertRulesFile {
  return {
    apiVersion: 1,
    groups: [{ orgId: 1, name: 'tickflow', folder: 'tickflow', interval: EVALUATION_INTERVAL, rules: ruleSpecs.map((s) => rule(s, riskMonitor.panels)) }],
  };
}

export function contactPoints(): ContactPointsFile {
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: RECEIVER,
        receivers: [{ uid: RECEIVER, type: 'email', settings: { addresses: `$${EMAIL_TO_VARIABLE}`, singleEmail: true }, disableResolveMessage: false }],
      },
    ],
  };
}

/** The organisation's root policy (provisioning replaces the whole tree): one e-mail per rule and instrument. */
export function notificationPolicies(): NotificationPoliciesFile {
  return {
    apiVersion: 1,
    policies: [
      {
        orgId: 1,
        receiver: RECEIVER,
        group_by: ['alertname', 'exchange', 'market', 'symbol'],
        group_wait: '30s',
        group_interval: '5m',
        repeat_interval: '4h',
      },
    ],
  };
}
