import type { Dashboard } from './model.js';
import { type Section, candleVariable, dashboard, instrumentVariables, sql } from './panels.js';
import { ONE_INSTRUMENT, SPREAD_THRESHOLD_BPS, gapAnnotation } from './queries.js';

const CANDLES = `${ONE_INSTRUMENT} AND interval = '$candle_interval' AND $__timeFilter(window_start)`;

const sections: Section[] = [
  {
    title: 'Price: $exchange $market $symbol ($candle_interval)',
    panels: [
      {
        type: 'candlestick',
        title: 'Candles',
        description: "The processor's candles (table candles): open/close by trade id, bucketed by trade time.",
        width: 24,
        targets: [
          sql(
            `SELECT window_start AS time, open::float8 AS open, high::float8 AS high, low::float8 AS low, close::float8 AS close,
  volume::float8 AS volume
FROM candles
WHERE ${CANDLES}
ORDER BY 1`,
            'table',
          ),
        ],
        options: { mode: 'candles+volume', candleStyle: 'candles', colorStrategy: 'open-close' },
      },
      {
        type: 'timeseries',
        title: 'VWAP and close',
        description: 'Volume-weighted average price of each candle next to its close.',
        width: 12,
        targets: [
          sql(`SELECT window_start AS time, vwap::float8 AS "VWAP", close::float8 AS "close"
FROM candles
WHERE ${CANDLES}
ORDER BY 1`),
        ],
      },
      {
        type: 'timeseries',
        title: 'Volume',
        description: 'Base-asset volume per candle, split by the taker side (taker buy = buyer was the aggressor).',
        width: 12,
        targets: [
          sql(`SELECT window_start AS time, taker_buy_volume::float8 AS "taker buy", (volume - taker_buy_volume)::float8 AS "taker sell"
FROM candles
WHERE ${CANDLES}
ORDER BY 1`),
        ],
        custom: { drawStyle: 'bars', fillOpacity: 80, stacking: { mode: 'normal', group: 'A' } },
      },
    ],
  },
  {
    title: 'Spread and trades',
    panels: [
      {
        type: 'timeseries',
        title: 'Bid-ask spread',
        description: `Mean and widest spread of each 30 s window (table spread_metrics) in basis points of the mid price. The red line is the spread-warning alert's threshold (${SPREAD_THRESHOLD_BPS} bps).`,
        width: 12,
        unit: 'none',
        threshold: SPREAD_THRESHOLD_BPS,
        targets: [
          sql(`SELECT window_start AS time, avg_spread_bps AS "mean spread (bps)", (max_spread / avg_mid * 10000)::float8 AS "max spread (bps)"
FROM spread_metrics
WHERE ${ONE_INSTRUMENT} AND $__timeFilter(window_start) AND avg_mid > 0
ORDER BY 1`),
        ],
      },
      {
        type: 'timeseries',
        title: 'Trades and taker flow',
        description: 'Trades per 1 m window and the share of volume bought by takers (table trade_metrics).',
        width: 12,
        targets: [
          sql(`SELECT window_start AS time, trade_count::float8 AS "trades", (buy_volume / NULLIF(volume, 0))::float8 AS "taker buy share"
FROM trade_metrics
WHERE ${ONE_INSTRUMENT} AND $__timeFilter(window_start)
ORDER BY 1`),
        ],
        custom: { axisSoftMin: 0 },
      },
      {
        type: 'table',
        title: 'Latest trades',
        description: 'The last 100 trades stored in the chosen range, newest first; side is the taker side.',
        width: 24,
        targets: [
          sql(
            `SELECT trade_time AS time, kind, trade_id, price::text AS price, quantity::text AS quantity,
  CASE WHEN buyer_is_maker THEN 'sell' ELSE 'buy' END AS side
FROM trades
WHERE ${ONE_INSTRUMENT} AND $__timeFilter(trade_time)
ORDER BY trade_time DESC, trade_id DESC
LIMIT 100`,
            'table',
          ),
        ],
      },
    ],
  },
];

/** Market overview: one instrument's candles, VWAP, volume, spread and trades. */
export const marketOverview: Dashboard = dashboard({
  uid: 'tickflow-market',
  title: 'tickflow — market overview',
  description: "One instrument's candles, VWAP, volume, spread and trades from the tickflow database.",
  refresh: '10s',
  from: 'now-3h',
  variables: [...instrumentVariables('one'), candleVariable('candle_interval', 'interval', 'Candle interval', ` AND ${ONE_INSTRUMENT}`, '1m')],
  annotations: [gapAnnotation(ONE_INSTRUMENT)],
  sections,
});
