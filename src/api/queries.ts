import type { Queryable } from '../store/database.js';

/**
 * Every SQL statement the API runs, parameterized. Numeric columns are selected as text so that
 * exact decimals reach JSON as strings whichever driver answers (PGlite or node-postgres), and
 * times as epoch ms (`ms()`), so rows need no per-driver conversion.
 */

const ms = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

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

/** The newest `limit` rows of the range, returned oldest first (what charts want). */
function newestAscending(inner: string, orderColumn: string): string {
  return `SELECT * FROM (${inner} ORDER BY ${orderColumn} DESC LIMIT $1) newest ORDER BY ${orderColumn} ASC`;
}

export async function symbolsWithData(db: Queryable): Promise<string[]> {
  // A loose index scan: one index probe per distinct symbol instead of reading every trade.
  const rows = await db.query<{ symbol: string }>(`
    WITH RECURSIVE s(symbol) AS (
      (SELECT symbol FROM trades ORDER BY symbol LIMIT 1)
      UNION ALL
      SELECT (SELECT t.symbol FROM trades t WHERE t.symbol > s.symbol ORDER BY t.symbol LIMIT 1) FROM s WHERE s.symbol IS NOT NULL
    )
    SELECT symbol FROM s WHERE symbol IS NOT NULL`);
  return rows.map((r) => r.symbol);
}

export async function hasData(db: Queryable, symbol: string): Promise<boolean> {
  const rows = await db.query(`SELECT 1 FROM trades WHERE symbol = $1 LIMIT 1`, [symbol]);
  return rows.length > 0;
}

export interface CandleRow {
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  quoteVolume: string;
  tradeCount: number;
  vwap: string | null;
  final: boolean;
  averages: Record<string, string | null>;
}

/** Moving-average columns are named sma_<n> / ema_<n>; which exist follows config. */
const AVERAGE_COLUMN = /^(sma|ema)_?(\d+)$/;

export async function candles(db: Queryable, symbol: string, interval: string, range: Range): Promise<CandleRow[]> {
  const params: unknown[] = [range.limit, symbol, interval];
  const inner = `SELECT c.*, ${ms('c.window_start')} AS time_ms FROM candles c
    WHERE c.symbol = $2 AND c.interval = $3${rangeSql('c.window_start', range, params)}`;
  const rows = await db.query<Record<string, unknown>>(newestAscending(inner, 'window_start'), params);
  return rows.map((r) => {
    const averages: Record<string, string | null> = {};
    for (const [key, value] of Object.entries(r)) {
      const m = AVERAGE_COLUMN.exec(key);
      if (m) averages[`${m[1]}${m[2]}`] = value === null ? null : String(value);
    }
    return {
      time: Number(r.time_ms),
      open: String(r.open),
      high: String(r.high),
      low: String(r.low),
      close: String(r.close),
      volume: String(r.volume),
      quoteVolume: String(r.quote_volume),
      tradeCount: Number(r.trade_count),
      vwap: r.vwap === null || r.vwap === undefined ? null : String(r.vwap),
      final: Boolean(r.is_final),
      averages,
    };
  });
}

export interface TradeRow {
  kind: 'trade' | 'aggTrade';
  id: number;
  price: string;
  quantity: string;
  time: number;
  buyerIsMaker: boolean;
  whale: boolean;
}

/**
 * The recent tape, newest first. `whale` compares price × quantity with the configured threshold
 * in NUMERIC, exactly as the processor decides. Individual trades when the symbol has them,
 * aggregated trades otherwise (never both: they describe the same fills).
 */
export async function recentTrades(db: Queryable, symbol: string, limit: number, whaleNotional: string): Promise<TradeRow[]> {
  const rows = await db.query<{ kind: 'trade' | 'aggTrade'; id: string | number; price: string; quantity: string; time_ms: number; buyer_is_maker: boolean; whale: boolean }>(
    `WITH k AS (
       SELECT COALESCE((SELECT 'trade' FROM trades WHERE symbol = $1 AND kind = 'trade' LIMIT 1), 'aggTrade') AS kind
     )
     SELECT t.kind, t.trade_id AS id, t.price::text AS price, t.quantity::text AS quantity,
            ${ms('t.trade_time')} AS time_ms, t.buyer_is_maker, (t.price * t.quantity >= $3::numeric) AS whale
     FROM trades t, k WHERE t.symbol = $1 AND t.kind = k.kind
     ORDER BY t.trade_time DESC, t.trade_id DESC LIMIT $2`,
    [symbol, limit, whaleNotional],
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

export interface GapRow {
  symbol: string;
  stream: string;
  firstMissingId: number;
  lastMissingId: number;
  missing: number;
  time: number;
  reason: string;
}

export async function gaps(db: Queryable, symbol: string | undefined, range: Range): Promise<GapRow[]> {
  const params: unknown[] = [range.limit];
  let where = 'TRUE';
  if (symbol !== undefined) {
    params.push(symbol);
    where = `symbol = $${params.length}`;
  }
  const rows = await db.query<Record<string, unknown>>(
    `SELECT symbol, stream, first_missing_id, last_missing_id, reason, ${ms('detected_at')} AS time_ms FROM gaps
     WHERE ${where}${rangeSql('detected_at', range, params)} ORDER BY detected_at DESC LIMIT $1`,
    params,
  );
  return rows.map((r) => ({
    symbol: String(r.symbol),
    stream: String(r.stream),
    firstMissingId: Number(r.first_missing_id),
    lastMissingId: Number(r.last_missing_id),
    missing: Number(r.last_missing_id) - Number(r.first_missing_id) + 1,
    time: Number(r.time_ms),
    reason: String(r.reason),
  }));
}

export async function storeCounts(db: Queryable): Promise<{ gaps: number; deadLetters: number }> {
  const [row] = await db.query<{ gaps: string | number; dead_letters: string | number }>(
    `SELECT (SELECT count(*) FROM gaps) AS gaps, (SELECT count(*) FROM dead_letters) AS dead_letters`,
  );
  return { gaps: Number(row?.gaps ?? 0), deadLetters: Number(row?.dead_letters ?? 0) };
}

/**
 * A processor output table read generically: every column, times as epoch ms, NUMERIC as text,
 * names in camelCase. The processor owns these schemas; reading them this way keeps the API from
 * breaking when it adds a column.
 */
export interface OutputTable {
  readonly name: string;
  readonly timeColumn: string;
}

export const TRADE_METRICS: OutputTable = { name: 'trade_metrics', timeColumn: 'window_start' };
export const SPREAD_METRICS: OutputTable = { name: 'spread_metrics', timeColumn: 'window_start' };
export const WHALE_TRADES: OutputTable = { name: 'whale_trades', timeColumn: 'trade_time' };
export const ANOMALIES: OutputTable = { name: 'anomalies', timeColumn: 'detected_at' };

/** Oldest first: a chart series of one symbol. */
export async function series(db: Queryable, table: OutputTable, symbol: string, range: Range): Promise<Record<string, unknown>[]> {
  const params: unknown[] = [range.limit, symbol];
  const inner = `SELECT * FROM ${table.name} WHERE symbol = $2${rangeSql(table.timeColumn, range, params)}`;
  return (await db.query<Record<string, unknown>>(newestAscending(inner, table.timeColumn), params)).map(jsonRow);
}

/** Newest first: an event list, of one symbol or all. */
export async function events(db: Queryable, table: OutputTable, symbol: string | undefined, range: Range): Promise<Record<string, unknown>[]> {
  const params: unknown[] = [range.limit];
  let where = 'TRUE';
  if (symbol !== undefined) {
    params.push(symbol);
    where = `symbol = $${params.length}`;
  }
  const sql = `SELECT * FROM ${table.name} WHERE ${where}${rangeSql(table.timeColumn, range, params)} ORDER BY ${table.timeColumn} DESC LIMIT $1`;
  return (await db.query<Record<string, unknown>>(sql, params)).map(jsonRow);
}

/**
 * Both drivers return NUMERIC as text already; TIMESTAMPTZ arrives as Date (→ epoch ms) and
 * node-postgres returns bigint as text (ids: → number, exact below 2^53 like every Binance id).
 */
function jsonRow(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(row)) {
    const name = key.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
    out[name] = value instanceof Date ? value.getTime() : typeof value === 'bigint' ? Number(value) : value;
  }
  return out;
}
