import type { Dashboard } from './model.js';
import { type Section, dashboard, instrumentVariables, promql, sql } from './panels.js';
import { HEAL_STATUS, MISSING_IDS, SOME_INSTRUMENTS, SPREAD_THRESHOLD_BPS, UNHEALED, VOLATILITY, VOLATILITY_THRESHOLD, gapAnnotation } from './queries.js';

/** Panel titles the alert rules link to (alerting.ts). */
export const RISK_PANELS = {
  volatility: 'Volatility (stddev / VWAP, 1 m windows)',
  spread: 'Mean spread (30 s windows)',
  gaps: 'Unhealed missing ids',
} as const;

const sections: Section[] = [
  {
    title: 'Market risk: $exchange $market',
    panels: [
      {
        type: 'timeseries',
        title: RISK_PANELS.volatility,
        description: `Price standard deviation over VWAP per 1 m window (table trade_metrics). The red line is the volatility alert's threshold (${VOLATILITY_THRESHOLD}).`,
        width: 12,
        unit: 'percentunit',
        threshold: VOLATILITY_THRESHOLD,
        targets: [
          sql(`SELECT window_start AS time, symbol AS metric, ${VOLATILITY} AS value
FROM trade_metrics
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(window_start) AND vwap > 0
ORDER BY 1`),
        ],
      },
      {
        type: 'timeseries',
        title: RISK_PANELS.spread,
        description: `Mean bid-ask spread per 30 s window in basis points of the mid price (table spread_metrics). The red line is the spread-warning alert's threshold (${SPREAD_THRESHOLD_BPS} bps).`,
        width: 12,
        threshold: SPREAD_THRESHOLD_BPS,
        targets: [
          sql(`SELECT window_start AS time, symbol AS metric, avg_spread_bps AS value
FROM spread_metrics
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(window_start)
ORDER BY 1`),
        ],
      },
      {
        type: 'timeseries',
        title: 'Spread warnings flagged by the processor',
        description:
          "Windows whose spread_warning flag is set (processor.spreadWarningFactor × the window's narrowest spread, or processor.spreadWarningBps), per symbol and interval.",
        width: 12,
        targets: [
          sql(`SELECT $__timeGroupAlias(window_start, $__interval), symbol AS metric, (count(*) FILTER (WHERE spread_warning))::float8 AS value
FROM spread_metrics
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(window_start)
GROUP BY 1, 2
ORDER BY 1`),
        ],
        custom: { drawStyle: 'bars', fillOpacity: 80 },
      },
      {
        type: 'timeseries',
        title: 'Whale trades (notional)',
        description: 'Quote-asset notional of each trade at or above the whale threshold (table whale_trades), by symbol and taker side.',
        width: 12,
        targets: [
          sql(`SELECT trade_time AS time, symbol || ' ' || side AS metric, max(notional)::float8 AS value
FROM whale_trades
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(trade_time)
GROUP BY 1, 2
ORDER BY 1`),
        ],
        custom: { drawStyle: 'points', pointSize: 8 },
      },
      {
        type: 'table',
        title: 'Whale trades',
        description: 'The 200 largest-notional whale trades in the chosen range.',
        width: 24,
        targets: [
          sql(
            `SELECT trade_time AS time, symbol, side, price::text AS price, quantity::text AS quantity, notional::float8 AS notional, trade_id
FROM whale_trades
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(trade_time)
ORDER BY notional DESC, trade_time DESC
LIMIT 200`,
            'table',
          ),
        ],
      },
    ],
  },
  {
    title: 'Data integrity and lag',
    panels: [
      {
        type: 'timeseries',
        title: RISK_PANELS.gaps,
        description: 'Trade and aggTrade ids missing that gap healing has not filled (pending, partial or failed), per interval. Drives the gap alert.',
        width: 12,
        threshold: 0,
        targets: [
          sql(`SELECT $__timeGroupAlias(detected_at, $__interval), symbol || ' ' || stream AS metric, sum(${MISSING_IDS})::float8 AS value
FROM gaps
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(detected_at) AND ${UNHEALED}
GROUP BY 1, 2
ORDER BY 1`),
        ],
        custom: { drawStyle: 'bars', fillOpacity: 80 },
      },
      {
        type: 'table',
        title: 'Gaps',
        description: 'Every gap detected in the chosen range and what healing did about it.',
        width: 12,
        targets: [
          sql(
            `SELECT detected_at AS time, symbol, stream, first_missing_id, last_missing_id, ${MISSING_IDS} AS missing, reason,
  ${HEAL_STATUS} AS heal_status, heal_rows, healed_at
FROM gaps
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(detected_at)
ORDER BY detected_at DESC
LIMIT 500`,
            'table',
          ),
        ],
      },
      {
        type: 'timeseries',
        title: 'Exchange-to-ingest lag',
        description:
          "Trade time to the ingest role's receive time, the worst per symbol and interval (table trades). Includes the clock offset between the exchange and this host.",
        width: 12,
        unit: 's',
        targets: [
          sql(`SELECT $__timeGroupAlias(trade_time, $__interval), symbol AS metric,
  max(extract(epoch FROM ingestion_timestamp - trade_time))::float8 AS value
FROM trades
WHERE ${SOME_INSTRUMENTS} AND $__timeFilter(trade_time)
GROUP BY 1, 2
ORDER BY 1`),
        ],
      },
      {
        type: 'timeseries',
        title: 'Consumer lag',
        description: 'Records each Kafka consumer group is behind the end of its topics (Prometheus).',
        width: 12,
        targets: [promql('sum by (group) (tickflow_consumer_lag_records)', '{{group}}')],
      },
      {
        type: 'timeseries',
        title: 'Exchange-to-database latency (p99)',
        description: 'Event time to the row being written, 99th percentile per table (Prometheus).',
        width: 12,
        unit: 's',
        targets: [promql('histogram_quantile(0.99, sum by (le, table) (rate(tickflow_end_to_end_latency_seconds_bucket[$__rate_interval])))', '{{table}}')],
      },
      {
        type: 'timeseries',
        title: 'Component state',
        description: 'Each component of each role: 1 up, 0 down (Prometheus).',
        width: 12,
        targets: [promql('tickflow_component_up', '{{role}} {{component}}')],
        custom: { drawStyle: 'line', lineInterpolation: 'stepAfter' },
      },
    ],
  },
];

/** Risk monitor: volatility, spread, whales, gaps and lag across the symbols of one exchange and market. */
export const riskMonitor: Dashboard = dashboard({
  uid: 'tickflow-risk',
  title: 'tickflow — risk monitor',
  description: 'Volatility, spread, whale trades, gaps and lag across symbols; the panels the Grafana alerts are built on.',
  refresh: '30s',
  from: 'now-6h',
  variables: instrumentVariables('many'),
  annotations: [gapAnnotation(SOME_INSTRUMENTS)],
  sections,
});
