import type { Instrument } from '../core/events.js';
import type { Queryable } from '../store/database.js';
import { KLINE_VALUE_COLUMNS, klineValues } from '../store/candle-rows.js';
import { marketTradeSql } from '../store/rows.js';
import { type AnomalyThresholds, spreadAnomalies, tradeAnomalies } from '../processors/anomalies.js';
import { intervalMs } from '../core/intervals.js';
import type { ApiAnomaly, ApiCandle, ApiGap, ApiSpreadMetrics, ApiTradeMetrics, ApiTrade, ApiWhale } from './contract.js';

/**
 * Every SQL statement the API runs, parameterized. Numeric columns are selected as text so that
 * exact decimals reach JSON as strings whichever driver answers (PGlite or node-postgres), times
 * as epoch ms (`ms()`), and bigint ids go through Number() (node-postgres sends them as text;
 * every Binance id is far below 2^53).
 */

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** A time range of epoch ms (`from` inclusive, `to` exclusive, either absent) and the most rows to return. */
export interface Range {
  readonly from?: number | undefined;
  readonly to?: number | undefined;
  readonly limit: number;
}

/** `AND col >= $n AND col < $m` for the given range, appending its parameters. */
function rangeSql(column: string, range: Range, params: unknown[]): string {
  let sql = '';
  if (range.from !== undefined) {
    params.push(new Date(range.from).toISOString());
    sql += ` AND ${column} >= $${params.length}::timestamptz`;
  }
  if (range.to !== undefined) {
    params.push(new Date(range.to).toISOString());
    sql += ` AND ${column} < $${params.length}::timestamptz`;
  }
  return sql;
}

/** `exchange = $a AND market = $b AND symbol = $c` (with the table alias), appending the parameters. */
function instrumentSql(i: Instrument, params: unknown[], alias = ''): string {
  params.push(i.exchange, i.market, i.symbol);
  const n = params.length;
  return `${alias}exchange = $${n - 2} AND ${alias}market = $${n - 1} AND ${alias}symbol = $${n}`;
}

/** An exchange and market, with the symbol optional (lists across symbols). */
export type MarketFilter = Omit<Instrument, 'symbol'> & { readonly symbol?: string | undefined };

/** `AND exchange = $a AND market = $b [AND symbol = $c]`. */
function marketSql(f: MarketFilter, params: unknown[]): string {
  params.push(f.exchange, f.market);
  let sql = ` AND exchange = $${params.length - 1} AND market = $${params.length}`;
  if (f.symbol !== undefined) {
    params.push(f.symbol);
    sql += ` AND symbol = $${params.length}`;
  }
  return sql;
}

/** The newest `limit` rows of the range, returned oldest first (what charts want). */
function newestAscending(inner: string, orderColumn: string): string {
  return `SELECT * FROM (${inner} ORDER BY ${orderColumn} DESC LIMIT $1) newest ORDER BY ${orderColumn} ASC`;
}

/** Every instrument with stored trades. */
export async function instrumentsWithData(db: Queryable): Promise<Instrument[]> {
  // A loose index scan over the trades_symbol_time index: one probe per distinct symbol instead of
  // reading every trade, then the few (exchange, market) pairs of each symbol.
  const rows = await db.query<Instrument>(`
    WITH RECURSIVE s(symbol) AS (
      (SELECT symbol FROM trades ORDER BY symbol LIMIT 1)
      UNION ALL
      SELECT (SELECT t.symbol FROM trades t WHERE t.symbol > s.symbol ORDER BY t.symbol LIMIT 1) FROM s WHERE s.symbol IS NOT NULL
    )
    SELECT DISTINCT m.exchange, m.market, s.symbol FROM s
    CROSS JOIN LATERAL (SELECT DISTINCT exchange, market FROM trades t WHERE t.symbol = s.symbol) m
    WHERE s.symbol IS NOT NULL ORDER BY 1, 2, 3`);
  return rows.map((r) => ({ exchange: r.exchange, market: r.market, symbol: r.symbol }));
}

/** Whether any trade of `instrument` is stored (one index probe). Errors are the database's. */
export async function hasData(db: Queryable, instrument: Instrument): Promise<boolean> {
  const params: unknown[] = [];
  const rows = await db.query(`SELECT 1 FROM trades WHERE ${instrumentSql(instrument, params)} LIMIT 1`, params);
  return rows.length > 0;
}

/** The newest `range.limit` candles of `interval` in the range, oldest first (contract.ts ApiCandle). */
export async function candles(db: Queryable, instrument: Instrument, interval: string, range: Range): Promise<ApiCandle[]> {
  const params: unknown[] = [range.limit, interval];
  const length = intervalMs(interval);
  const inner = `SELECT window_start, ${ms('window_start')} AS time_ms, ${KLINE_VALUE_COLUMNS}, vwap::text, is_final, is_complete, indicators
    FROM candles WHERE interval = $2 AND ${instrumentSql(instrument, params)}${rangeSql('window_start', range, params)}`;
  const rows = await db.query<Record<string, unknown>>(newestAscending(inner, 'window_start'), params);
  return rows.map((r) => ({
    time: Number(r.time_ms),
    closeTime: Number(r.time_ms) + length - 1,
    ...klineValues(r),
    vwap: r.vwap === null ? null : String(r.vwap),
    final: Boolean(r.is_final),
    complete: Boolean(r.is_complete),
    averages: jsonObject(r.indicators) as Record<string, string | null>,
  }));
}

/** JSONB arrives parsed from both drivers; text when a driver has no parser for it. */
function jsonObject(value: unknown): Record<string, unknown> {
  if (typeof value === 'string') return JSON.parse(value) as Record<string, unknown>;
  return (value ?? {}) as Record<string, unknown>;
}

/**
 * The recent tape, newest first. `whale` compares price × quantity with the configured threshold
 * in NUMERIC, exactly as the processor decides. Individual trades when the symbol has them,
 * aggregated trades otherwise (never both: they describe the same fills).
 */
export async function recentTrades(db: Queryable, instrument: Instrument, limit: number, whaleNotional: string): Promise<ApiTrade[]> {
  const params: unknown[] = [limit, whaleNotional];
  const inner = instrumentSql(instrument, params, 't.');
  const rows = await db.query<{
    kind: 'trade' | 'aggTrade';
    id: string | number;
    price: string;
    quantity: string;
    time_ms: number;
    buyer_is_maker: boolean;
    whale: boolean;
  }>(
    `WITH k AS (
       SELECT COALESCE((SELECT 'trade' FROM trades t WHERE ${inner} AND t.kind = 'trade' LIMIT 1), 'aggTrade') AS kind
     )
     SELECT t.kind, t.trade_id AS id, t.price::text AS price, t.quantity::text AS quantity,
            ${ms('t.trade_time')} AS time_ms, t.buyer_is_maker, (t.price * t.quantity >= $2::numeric) AS whale
     FROM trades t, k WHERE ${inner} AND t.kind = k.kind AND ${marketTradeSql('t')}
     ORDER BY t.trade_time DESC, t.trade_id DESC LIMIT $1`,
    params,
  );
  return rows.map((r) => ({
    kind: r.kind,
    id: Number(r.id),
    price: r.price,
    quantity: r.quantity,
    time: Number(r.time_ms),
    buyerIsMaker: r.buyer_is_maker,
    whale: r.whale,
  }));
}

/** Gaps of the market (or one symbol), newest first, with how healing ended (contract.ts ApiGap). */
export async function gaps(db: Queryable, filter: MarketFilter, range: Range): Promise<ApiGap[]> {
  const params: unknown[] = [range.limit];
  const rows = await db.query<Record<string, unknown>>(
    `SELECT symbol, stream, first_missing_id, last_missing_id, reason, ${ms('detected_at')} AS time_ms,
            heal_status, heal_rows, ${ms('healed_at')} AS healed_ms, heal_error FROM gaps
     WHERE TRUE${marketSql(filter, params)}${rangeSql('detected_at', range, params)} ORDER BY detected_at DESC LIMIT $1`,
    params,
  );
  return rows.map((r) => ({
    symbol: String(r.symbol),
    stream: String(r.stream) as ApiGap['stream'],
    firstMissingId: Number(r.first_missing_id),
    lastMissingId: Number(r.last_missing_id),
    missing: Number(r.last_missing_id) - Number(r.first_missing_id) + 1,
    time: Number(r.time_ms),
    reason: String(r.reason),
    healStatus: r.heal_status === null ? null : (String(r.heal_status) as ApiGap['healStatus']),
    healRows: r.heal_rows === null ? null : Number(r.heal_rows),
    healedAt: r.healed_ms === null ? null : Number(r.healed_ms),
    healError: r.heal_error === null ? null : String(r.heal_error),
  }));
}

/** Row counts for the pipeline panel; `unhealedGaps`: trade/aggTrade gaps not (yet) healed completely. */
export async function storeCounts(db: Queryable): Promise<{ gaps: number; unhealedGaps: number; deadLetters: number }> {
  const [row] = await db.query<{ gaps: string | number; unhealed: string | number; dead_letters: string | number }>(
    `SELECT (SELECT count(*) FROM gaps) AS gaps,
            (SELECT count(*) FROM gaps WHERE stream IN ('trade', 'aggTrade') AND heal_status IS DISTINCT FROM 'healed') AS unhealed,
            (SELECT count(*) FROM dead_letters) AS dead_letters`,
  );
  return { gaps: Number(row?.gaps ?? 0), unhealedGaps: Number(row?.unhealed ?? 0), deadLetters: Number(row?.dead_letters ?? 0) };
}

const text = (v: unknown) => (v === null || v === undefined ? null : String(v));

/** Windowed trade metrics, oldest first (the processor's internal running state left out). */
export async function tradeMetrics(db: Queryable, instrument: Instrument, range: Range): Promise<ApiTradeMetrics[]> {
  const params: unknown[] = [range.limit];
  const inner = `SELECT window_start, ${ms('window_start')} AS start_ms, ${ms('window_end')} AS end_ms, interval, vwap::text,
      price_stddev, trade_count, volume::text, quote_volume::text, buy_volume::text, sell_volume::text, buy_sell_ratio::text,
      largest_trade_qty::text, largest_trade_notional::text, open::text, close::text,
      volatility_alert, volume_spike, price_move, is_final
    FROM trade_metrics WHERE ${instrumentSql(instrument, params)}${rangeSql('window_start', range, params)}`;
  const rows = await db.query<Record<string, unknown>>(newestAscending(inner, 'window_start'), params);
  return rows.map((r) => ({
    time: Number(r.start_ms),
    windowEnd: Number(r.end_ms),
    interval: String(r.interval),
    vwap: text(r.vwap),
    priceStddev: Number(r.price_stddev),
    tradeCount: Number(r.trade_count),
    volume: String(r.volume),
    quoteVolume: String(r.quote_volume),
    buyVolume: String(r.buy_volume),
    sellVolume: String(r.sell_volume),
    buySellRatio: text(r.buy_sell_ratio),
    largestTradeQty: String(r.largest_trade_qty),
    largestTradeNotional: String(r.largest_trade_notional),
    open: String(r.open),
    close: String(r.close),
    volatilityAlert: Boolean(r.volatility_alert),
    volumeSpike: Boolean(r.volume_spike),
    priceMove: Boolean(r.price_move),
    final: Boolean(r.is_final),
  }));
}

/** Windowed spread metrics, oldest first. */
export async function spreadMetrics(db: Queryable, instrument: Instrument, range: Range): Promise<ApiSpreadMetrics[]> {
  const params: unknown[] = [range.limit];
  const inner = `SELECT window_start, ${ms('window_start')} AS start_ms, ${ms('window_end')} AS end_ms, interval,
      avg_spread::text, min_spread::text, max_spread::text, avg_spread_bps, avg_mid::text, update_count, spread_warning, is_final
    FROM spread_metrics WHERE ${instrumentSql(instrument, params)}${rangeSql('window_start', range, params)}`;
  const rows = await db.query<Record<string, unknown>>(newestAscending(inner, 'window_start'), params);
  return rows.map((r) => ({
    time: Number(r.start_ms),
    windowEnd: Number(r.end_ms),
    interval: String(r.interval),
    avgSpread: String(r.avg_spread),
    minSpread: String(r.min_spread),
    maxSpread: String(r.max_spread),
    avgSpreadBps: Number(r.avg_spread_bps),
    avgMid: String(r.avg_mid),
    updateCount: Number(r.update_count),
    spreadWarning: Boolean(r.spread_warning),
    final: Boolean(r.is_final),
  }));
}

/** Whale trades, newest first. */
export async function whales(db: Queryable, filter: MarketFilter, range: Range): Promise<ApiWhale[]> {
  const params: unknown[] = [range.limit];
  const rows = await db.query<Record<string, unknown>>(
    `SELECT symbol, trade_id, ${ms('trade_time')} AS time_ms, price::text, quantity::text, notional::text, side
     FROM whale_trades WHERE TRUE${marketSql(filter, params)}${rangeSql('trade_time', range, params)}
     ORDER BY trade_time DESC, trade_id DESC LIMIT $1`,
    params,
  );
  return rows.map((r) => ({
    symbol: String(r.symbol),
    id: Number(r.trade_id),
    time: Number(r.time_ms),
    price: String(r.price),
    quantity: String(r.quantity),
    notional: String(r.notional),
    side: String(r.side) as 'buy' | 'sell',
  }));
}

/** Flagged metric windows, newest first, turned into anomaly entries (see anomalies.ts). */
export async function anomalies(db: Queryable, market: MarketFilter, range: Range, thresholds: AnomalyThresholds): Promise<ApiAnomaly[]> {
  const params: unknown[] = [range.limit];
  const filter = `${marketSql(market, params)}${rangeSql('window_start', range, params)}`;
  const rows = await db.query<Record<string, unknown>>(
    `SELECT * FROM (
       SELECT 'trades' AS source, symbol, interval, window_start, ${ms('window_start')} AS start_ms, is_final,
              volatility_alert, volume_spike, price_move, price_stddev, vwap::text AS vwap, volume::text AS volume,
              open::text AS open, close::text AS close, false AS spread_warning, NULL::float8 AS avg_spread_bps
       FROM trade_metrics WHERE (volatility_alert OR volume_spike OR price_move)${filter}
       UNION ALL
       SELECT 'spread', symbol, interval, window_start, ${ms('window_start')}, is_final,
              false, false, false, NULL, NULL, NULL, NULL, NULL, spread_warning, avg_spread_bps
       FROM spread_metrics WHERE spread_warning${filter}
     ) flagged ORDER BY window_start DESC LIMIT $1`,
    params,
  );
  return rows
    .flatMap((r) => {
      const base = {
        exchange: market.exchange,
        market: market.market,
        symbol: String(r.symbol),
        windowStart: Number(r.start_ms),
        interval: String(r.interval),
      };
      const found =
        r.source === 'spread'
          ? spreadAnomalies({ ...base, spreadWarning: true, avgSpreadBps: Number(r.avg_spread_bps) }, thresholds)
          : tradeAnomalies(
              {
                ...base,
                volatilityAlert: Boolean(r.volatility_alert),
                volumeSpike: Boolean(r.volume_spike),
                priceMove: Boolean(r.price_move),
                priceStddev: Number(r.price_stddev),
                vwap: text(r.vwap),
                volume: String(r.volume),
                open: String(r.open),
                close: String(r.close),
              },
              thresholds,
            );
      return found.map((a) => ({ ...a, final: Boolean(r.is_final) }));
    })
    .slice(0, range.limit);
}
