import { configSchema } from '../../../src/config/schema.js';
import type { Annotation } from './model.js';
import { POSTGRES, sql } from './panels.js';

/**
 * SQL shared by the dashboards and the alert rules, so a panel shows exactly the number its alert
 * compares (tables: src/store/migrations). Thresholds are the processor's defaults
 * (config.processor.*, the one home of these market rules), so the Grafana alerts, the red lines
 * on the panels and the processor's own flags agree. On the real recordings in ../shared/data
 * (BTCUSDT/ETHUSDT spot and USD-M, 2024-08-08 23:54 – 00:05 UTC) the highest 1 m stddev/VWAP is
 * 0.00062 and the highest 30 s mean spread 0.13 bps: both alerts stay quiet on an ordinary market
 * and fire on a move 3 × (volatility) or 75 × (spread) beyond it (docs/grafana.md).
 */
const processorDefaults = configSchema.parse({}).processor;

/** Price standard deviation / VWAP of a 1 m trade_metrics window above which volatility alerts. */
export const VOLATILITY_THRESHOLD = processorDefaults.volatilityRatio;
/** Mean spread of a 30 s spread_metrics window, in basis points of the mid price, above which spread warns. */
export const SPREAD_THRESHOLD_BPS = processorDefaults.spreadWarningBps;

/** The processor's volatility measure (src/processors/trade-metrics.ts): scale-free, comparable across symbols. */
export const VOLATILITY = '(price_stddev / vwap)::float8';
/** Ids a gap row reports missing, inclusive. */
export const MISSING_IDS = '(last_missing_id - first_missing_id + 1)';
/**
 * Gaps that gap healing fills from REST. A depth or bookTicker gap is recovered by the next
 * snapshot or update instead, and never marked healed.
 */
const HEALABLE = "stream IN ('trade', 'aggTrade')";
/** A healable gap not (yet) filled: pending (NULL), partial or failed. */
export const UNHEALED = `${HEALABLE} AND heal_status IS DISTINCT FROM 'healed'`;
/** healed / partial / failed as recorded, else pending (healable) or not healable. */
export const HEAL_STATUS = `COALESCE(heal_status, CASE WHEN ${HEALABLE} THEN 'pending' ELSE 'not healable' END)`;

/** One instrument chosen by the single-value variables $exchange, $market, $symbol. */
export const ONE_INSTRUMENT = "exchange = '$exchange' AND market = '$market' AND symbol = '$symbol'";
/** Several symbols of one exchange and market: $symbol is multi-value ('A','B'). */
export const SOME_INSTRUMENTS = "exchange = '$exchange' AND market = '$market' AND symbol IN ($symbol)";

/** Gaps of the chosen instrument(s) as annotations on every time axis. */
export function gapAnnotation(filter: string): Annotation {
  return {
    name: 'Gaps',
    enable: true,
    iconColor: 'orange',
    datasource: POSTGRES,
    target: sql(
      `SELECT detected_at AS time, symbol || ' ' || stream || ': ids ' || first_missing_id || '-' || last_missing_id
  || ' missing (' || reason || ', ' || ${HEAL_STATUS} || ')' AS text
FROM gaps
WHERE ${filter} AND $__timeFilter(detected_at)
ORDER BY 1`,
      'table',
      'Anno',
    ),
  };
}
