import { errorMessage } from '../core/errors.js';
import type { AggTradeEvent, Instrument, TradeEvent } from '../core/events.js';
import type { Queryable } from '../store/database.js';
import { StoreError } from '../store/errors.js';
import { isoFromMs } from '../store/rows.js';
import { type Column, columnParams, ident, unnestInsert } from '../store/sql.js';
import type { CandleRow } from './candles.js';
import type { Indicators } from './moving-averages.js';
import type { LateEventRow, RestoredRows, Retention, Upsert } from './processor-core.js';
import type { SpreadMetricsRow } from './spread-metrics.js';
import type { TradeMetricsRow } from './trade-metrics.js';
import type { WhaleRow } from './whales.js';

/**
 * SQL for the processor's tables: one `INSERT ... SELECT FROM unnest(...)` per table and batch,
 * upserting on the natural key. A partial row never replaces a final one, so a slow partial
 * flush racing a final write cannot undo it.
 */

interface TableSpec<R> {
  readonly table: Upsert['table'];
  readonly columns: readonly Column<R>[];
  readonly sql: string;
  readonly keyOf: (row: R) => string;
}

function spec<R>(table: Upsert['table'], columns: readonly Column<R>[], conflict: string): TableSpec<R> {
  const keys = columns.filter((c) => c.key);
  return {
    table,
    columns,
    sql: unnestInsert(table, columns, conflict),
    keyOf: (row) => keys.map((c) => String(c.value(row))).join('\u0000'),
  };
}

function windowUpsert<R extends { isFinal: boolean }>(table: Upsert['table'], columns: readonly Column<R>[]): TableSpec<R> {
  const updates = columns
    .filter((c) => !c.key)
    .map((c) => `${ident(c.name)} = EXCLUDED.${ident(c.name)}`)
    .join(', ');
  return spec(
    table,
    columns,
    `ON CONFLICT (exchange, market, symbol, interval, window_start) DO UPDATE SET ${updates} WHERE NOT ${ident(table)}.is_final OR EXCLUDED.is_final`,
  );
}

/** The instrument columns (exchange, market, symbol): part of every processor table's key. */
const instrumentKey = <R extends Instrument>(): Column<R>[] => [
  { name: 'exchange', type: 'text', value: (r) => r.exchange, key: true },
  { name: 'market', type: 'text', value: (r) => r.market, key: true },
  { name: 'symbol', type: 'text', value: (r) => r.symbol, key: true },
];

const windowKey = <R extends Instrument & { interval: string; windowStart: number; windowEnd: number }>(): Column<R>[] => [
  ...instrumentKey<R>(),
  { name: 'interval', type: 'text', value: (r) => r.interval, key: true },
  { name: 'window_start', type: 'timestamptz', value: (r) => isoFromMs(r.windowStart), key: true },
  { name: 'window_end', type: 'timestamptz', value: (r) => isoFromMs(r.windowEnd) },
];

const candles = windowUpsert<CandleRow>('candles', [
  ...windowKey<CandleRow>(),
  { name: 'open', type: 'numeric', value: (r) => r.open },
  { name: 'high', type: 'numeric', value: (r) => r.high },
  { name: 'low', type: 'numeric', value: (r) => r.low },
  { name: 'close', type: 'numeric', value: (r) => r.close },
  { name: 'volume', type: 'numeric', value: (r) => r.volume },
  { name: 'quote_volume', type: 'numeric', value: (r) => r.quoteVolume },
  { name: 'trade_count', type: 'bigint', value: (r) => r.tradeCount },
  { name: 'taker_buy_volume', type: 'numeric', value: (r) => r.takerBuyVolume },
  { name: 'taker_buy_quote_volume', type: 'numeric', value: (r) => r.takerBuyQuoteVolume },
  { name: 'vwap', type: 'numeric', value: (r) => r.vwap },
  { name: 'first_trade_id', type: 'bigint', value: (r) => r.firstTradeId },
  { name: 'last_trade_id', type: 'bigint', value: (r) => r.lastTradeId },
  { name: 'indicators', type: 'jsonb', value: (r) => JSON.stringify(r.indicators) },
  { name: 'is_final', type: 'boolean', value: (r) => r.isFinal },
  { name: 'is_complete', type: 'boolean', value: (r) => r.isComplete },
  { name: 'source_offset', type: 'bigint', value: (r) => r.sourceOffset.toString() },
]);

const tradeMetrics = windowUpsert<TradeMetricsRow>('trade_metrics', [
  ...windowKey<TradeMetricsRow>(),
  { name: 'vwap', type: 'numeric', value: (r) => r.vwap },
  { name: 'price_stddev', type: 'float8', value: (r) => r.priceStddev },
  { name: 'trade_count', type: 'bigint', value: (r) => r.tradeCount },
  { name: 'volume', type: 'numeric', value: (r) => r.volume },
  { name: 'quote_volume', type: 'numeric', value: (r) => r.quoteVolume },
  { name: 'buy_volume', type: 'numeric', value: (r) => r.buyVolume },
  { name: 'sell_volume', type: 'numeric', value: (r) => r.sellVolume },
  { name: 'buy_sell_ratio', type: 'numeric', value: (r) => r.buySellRatio },
  { name: 'largest_trade_qty', type: 'numeric', value: (r) => r.largestTradeQty },
  { name: 'largest_trade_notional', type: 'numeric', value: (r) => r.largestTradeNotional },
  { name: 'open', type: 'numeric', value: (r) => r.open },
  { name: 'close', type: 'numeric', value: (r) => r.close },
  { name: 'first_trade_id', type: 'bigint', value: (r) => r.firstTradeId },
  { name: 'last_trade_id', type: 'bigint', value: (r) => r.lastTradeId },
  { name: 'samples', type: 'bigint', value: (r) => r.samples },
  { name: 'price_mean', type: 'float8', value: (r) => r.priceMean },
  { name: 'price_m2', type: 'float8', value: (r) => r.priceM2 },
  { name: 'volatility_alert', type: 'boolean', value: (r) => r.volatilityAlert },
  { name: 'volume_baseline', type: 'numeric', value: (r) => r.volumeBaseline },
  { name: 'volume_spike', type: 'boolean', value: (r) => r.volumeSpike },
  { name: 'price_move', type: 'boolean', value: (r) => r.priceMove },
  { name: 'is_final', type: 'boolean', value: (r) => r.isFinal },
  { name: 'source_offset', type: 'bigint', value: (r) => r.sourceOffset.toString() },
]);

const spreadMetrics = windowUpsert<SpreadMetricsRow>('spread_metrics', [
  ...windowKey<SpreadMetricsRow>(),
  { name: 'avg_spread', type: 'numeric', value: (r) => r.avgSpread },
  { name: 'min_spread', type: 'numeric', value: (r) => r.minSpread },
  { name: 'max_spread', type: 'numeric', value: (r) => r.maxSpread },
  { name: 'avg_spread_bps', type: 'float8', value: (r) => r.avgSpreadBps },
  { name: 'avg_mid', type: 'numeric', value: (r) => r.avgMid },
  { name: 'update_count', type: 'bigint', value: (r) => r.updateCount },
  { name: 'sum_spread', type: 'numeric', value: (r) => r.sumSpread },
  { name: 'sum_bid_plus_ask', type: 'numeric', value: (r) => r.sumBidPlusAsk },
  { name: 'sum_bps', type: 'float8', value: (r) => r.sumBps },
  { name: 'spread_warning', type: 'boolean', value: (r) => r.spreadWarning },
  { name: 'is_final', type: 'boolean', value: (r) => r.isFinal },
  { name: 'source_offset', type: 'bigint', value: (r) => r.sourceOffset.toString() },
]);

const whales = spec<WhaleRow>(
  'whale_trades',
  [
    ...instrumentKey<WhaleRow>(),
    { name: 'trade_id', type: 'bigint', value: (r) => r.tradeId, key: true },
    { name: 'trade_time', type: 'timestamptz', value: (r) => isoFromMs(r.tradeTime), key: true },
    { name: 'price', type: 'numeric', value: (r) => r.price },
    { name: 'quantity', type: 'numeric', value: (r) => r.quantity },
    { name: 'notional', type: 'numeric', value: (r) => r.notional },
    { name: 'side', type: 'text', value: (r) => r.side },
  ],
  'ON CONFLICT DO NOTHING',
);

const lateEvents = spec<LateEventRow>(
  'late_events',
  [
    { name: 'source', type: 'text', value: (r) => r.source, key: true },
    { name: 'offset', type: 'bigint', value: (r) => r.offset.toString(), key: true },
    { name: 'target', type: 'text', value: (r) => r.target, key: true },
    { name: 'exchange', type: 'text', value: (r) => r.exchange },
    { name: 'market', type: 'text', value: (r) => r.market },
    { name: 'symbol', type: 'text', value: (r) => r.symbol },
    { name: 'event_time', type: 'timestamptz', value: (r) => isoFromMs(r.eventTime), key: true },
    { name: 'watermark_ms', type: 'bigint', value: (r) => (Number.isFinite(r.watermark) ? r.watermark : null) },
    { name: 'reason', type: 'text', value: (r) => r.reason },
    { name: 'event', type: 'jsonb', value: (r) => JSON.stringify(r.event) },
  ],
  'ON CONFLICT DO NOTHING',
);

const SPECS = { candles, trade_metrics: tradeMetrics, spread_metrics: spreadMetrics, whale_trades: whales, late_events: lateEvents } as const;

/**
 * Writes a batch of upserts (in one transaction when `db` is one). The same window may appear
 * several times in a batch (final, then corrected): only its last version is written, since one
 * statement may not update a row twice. Returns rows written per table. Throws StoreError; one with
 * `rejectsData` when a row cannot be stored (a value out of range, or not encodable).
 */
export async function writeUpserts(db: Queryable, upserts: readonly Upsert[]): Promise<Map<string, number>> {
  const byTable = new Map<Upsert['table'], Map<string, unknown>>();
  for (const u of upserts) {
    let rows = byTable.get(u.table);
    if (!rows) {
      rows = new Map();
      byTable.set(u.table, rows);
    }
    const key = (SPECS[u.table] as TableSpec<unknown>).keyOf(u.row);
    rows.delete(key);
    rows.set(key, u.row);
  }
  const written = new Map<string, number>();
  for (const [table, rows] of byTable) {
    const s = SPECS[table] as TableSpec<unknown>;
    const list = [...rows.values()];
    let params: unknown[][];
    try {
      params = columnParams(s.columns, list);
    } catch (err) {
      // A value that cannot even be encoded is refused like one the database refuses: isolated, not retried.
      throw new StoreError(`cannot encode a ${table} row: ${errorMessage(err)}`, { cause: err, canRetry: false, rejectsData: true });
    }
    await db.query(s.sql, params);
    written.set(table, list.length);
  }
  return written;
}

const epochMs = (column: string) => `(extract(epoch from ${column}) * 1000)::float8`;

/** The last `n` final windows per instrument (and interval), oldest first. */
function latestFinal(table: string, columns: string): string {
  return `SELECT * FROM (
      SELECT ${columns}, row_number() OVER (PARTITION BY exchange, market, symbol, interval ORDER BY window_start DESC) AS rn
      FROM ${ident(table)} WHERE is_final AND interval = $2
    ) recent WHERE rn <= $1 ORDER BY exchange, market, symbol, interval, window_start`;
}

const COMMON = `exchange, market, symbol, interval, ${epochMs('window_start')} AS window_start, ${epochMs('window_end')} AS window_end, source_offset::text AS source_offset`;

type Raw = Record<string, unknown>;
const str = (v: unknown): string => String(v);
const num = (v: unknown): number => Number(v);
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

function common(r: Raw) {
  return {
    exchange: str(r.exchange),
    market: str(r.market),
    symbol: str(r.symbol),
    interval: str(r.interval),
    windowStart: num(r.window_start),
    windowEnd: num(r.window_end),
    sourceOffset: BigInt(str(r.source_offset)),
    isFinal: true,
  };
}

/** Loads the recent final windows a restarted processor continues from (ProcessorCore.retention()). */
export async function loadRestoredRows(db: Queryable, retention: Retention): Promise<RestoredRows> {
  const load = async (table: keyof Retention, columns: string): Promise<Raw[]> => {
    const rows: Raw[] = [];
    for (const [interval, n] of Object.entries(retention[table])) rows.push(...(await db.query<Raw>(latestFinal(table, columns), [n, interval])));
    return rows;
  };
  const candles = await load(
    'candles',
    `${COMMON}, open::text, high::text, low::text, close::text, volume::text, quote_volume::text, trade_count::float8,
     taker_buy_volume::text, taker_buy_quote_volume::text, vwap::text, first_trade_id::float8, last_trade_id::float8,
     indicators, is_complete`,
  );
  const metrics = await load(
    'trade_metrics',
    `${COMMON}, vwap::text, price_stddev, trade_count::float8, volume::text, quote_volume::text, buy_volume::text,
     sell_volume::text, buy_sell_ratio::text, largest_trade_qty::text, largest_trade_notional::text, open::text, close::text,
     first_trade_id::float8, last_trade_id::float8, samples::float8, price_mean, price_m2, volatility_alert, volume_baseline::text, volume_spike, price_move`,
  );
  const spreads = await load(
    'spread_metrics',
    `${COMMON}, avg_spread::text, min_spread::text, max_spread::text, avg_spread_bps, avg_mid::text, update_count::float8,
     sum_spread::text, sum_bid_plus_ask::text, sum_bps, spread_warning`,
  );
  return {
    candles: candles.map((r) => ({
      ...common(r),
      open: str(r.open),
      high: str(r.high),
      low: str(r.low),
      close: str(r.close),
      volume: str(r.volume),
      quoteVolume: str(r.quote_volume),
      tradeCount: num(r.trade_count),
      takerBuyVolume: str(r.taker_buy_volume),
      takerBuyQuoteVolume: str(r.taker_buy_quote_volume),
      vwap: strOrNull(r.vwap),
      firstTradeId: num(r.first_trade_id),
      lastTradeId: num(r.last_trade_id),
      indicators: (typeof r.indicators === 'string' ? JSON.parse(r.indicators) : r.indicators) as Indicators,
      isComplete: r.is_complete === true,
    })),
    tradeMetrics: metrics.map((r) => ({
      ...common(r),
      vwap: strOrNull(r.vwap),
      priceStddev: num(r.price_stddev),
      tradeCount: num(r.trade_count),
      volume: str(r.volume),
      quoteVolume: str(r.quote_volume),
      buyVolume: str(r.buy_volume),
      sellVolume: str(r.sell_volume),
      buySellRatio: strOrNull(r.buy_sell_ratio),
      largestTradeQty: str(r.largest_trade_qty),
      volumeBaseline: strOrNull(r.volume_baseline),
      largestTradeNotional: str(r.largest_trade_notional),
      open: str(r.open),
      close: str(r.close),
      firstTradeId: num(r.first_trade_id),
      lastTradeId: num(r.last_trade_id),
      samples: num(r.samples),
      priceMean: num(r.price_mean),
      priceM2: num(r.price_m2),
      volatilityAlert: r.volatility_alert === true,
      volumeSpike: r.volume_spike === true,
      priceMove: r.price_move === true,
    })),
    spreadMetrics: spreads.map((r) => ({
      ...common(r),
      avgSpread: str(r.avg_spread),
      minSpread: str(r.min_spread),
      maxSpread: str(r.max_spread),
      avgSpreadBps: num(r.avg_spread_bps),
      avgMid: str(r.avg_mid),
      updateCount: num(r.update_count),
      sumSpread: str(r.sum_spread),
      sumBidPlusAsk: str(r.sum_bid_plus_ask),
      sumBps: num(r.sum_bps),
      spreadWarning: r.spread_warning === true,
    })),
  };
}

/** The trades columns a stored trade is read back from (tradeFromStored). */
const STORED_TRADE = `trade_id::float8 AS id, price::text AS price, quantity::text AS quantity, first_trade_id::float8 AS f,
  last_trade_id::float8 AS l, buyer_is_maker, trade_type, ${epochMs('trade_time')} AS trade_time, ${epochMs('event_time')} AS event_time,
  (extract(epoch from ingestion_timestamp) * 1000000)::float8 AS ingested`;

type StoredTradeKey = { readonly market: 'spot' | 'usdm'; readonly symbol: string; readonly kind: 'trade' | 'aggTrade' };

/** A row of STORED_TRADE back as the record it was written from (USD-M trade type included). */
function tradeFromStored(r: Raw, key: StoredTradeKey): TradeEvent | AggTradeEvent {
  const common = {
    exchange: 'binance' as const,
    market: key.market,
    symbol: key.symbol,
    eventTime: num(r.event_time),
    ingestionTimestamp: num(r.ingested),
    tradeTime: num(r.trade_time),
    price: str(r.price),
    quantity: str(r.quantity),
    buyerIsMaker: r.buyer_is_maker === true,
  };
  return key.kind === 'trade'
    ? { ...common, type: 'trade', tradeId: num(r.id), ...(r.trade_type === null || r.trade_type === undefined ? {} : { tradeType: str(r.trade_type) }) }
    : { ...common, type: 'aggTrade', aggTradeId: num(r.id), firstTradeId: num(r.f), lastTradeId: num(r.l) };
}

/**
 * Trades stored since `sinceMs` (epoch ms) for one symbol and trade stream, oldest id first, at most
 * `limit` (the newest ones when there are more): the trades of windows that were still open when an
 * earlier processor died, to fold in again on start (ProcessorCore knows nothing of them otherwise).
 */
export async function loadStoredTrades(db: Queryable, key: StoredTradeKey, sinceMs: number, limit: number): Promise<(TradeEvent | AggTradeEvent)[]> {
  const rows = await db.query<Raw>(
    `SELECT * FROM (
       SELECT ${STORED_TRADE}
       FROM trades WHERE symbol = $1 AND exchange = 'binance' AND market = $2 AND kind = $3 AND trade_time >= $4
       ORDER BY trade_time DESC, trade_id DESC LIMIT $5
     ) recent ORDER BY id`,
    [key.symbol, key.market, key.kind, isoFromMs(sinceMs), limit],
  );
  return rows.map((r) => tradeFromStored(r, key));
}

/**
 * One page of the trades stored for one symbol and trade stream with trade time in [fromMs, toMs)
 * and id above `afterId`, ascending by id, at most `limit`: a whole period read back in id order
 * (tickflow backfill builds its candles from them).
 */
export async function storedTradesPage(
  db: Queryable,
  key: StoredTradeKey,
  fromMs: number,
  toMs: number,
  afterId: number,
  limit: number,
): Promise<(TradeEvent | AggTradeEvent)[]> {
  const rows = await db.query<Raw>(
    `SELECT ${STORED_TRADE} FROM trades
     WHERE symbol = $1 AND exchange = 'binance' AND market = $2 AND kind = $3 AND trade_time >= $4 AND trade_time < $5 AND trade_id > $6
     ORDER BY trade_id LIMIT $7`,
    [key.symbol, key.market, key.kind, isoFromMs(fromMs), isoFromMs(toMs), afterId, limit],
  );
  return rows.map((r) => tradeFromStored(r, key));
}

/** The latest stored trade time (epoch ms) of one symbol and trade stream; undefined when none is stored. */
export async function latestStoredTradeTime(
  db: Queryable,
  key: { readonly market: 'spot' | 'usdm'; readonly symbol: string; readonly kind: 'trade' | 'aggTrade' },
): Promise<number | undefined> {
  const rows = await db.query<Raw>(
    `SELECT ${epochMs('trade_time')} AS t FROM trades WHERE symbol = $1 AND exchange = 'binance' AND market = $2 AND kind = $3
     ORDER BY trade_time DESC LIMIT 1`,
    [key.symbol, key.market, key.kind],
  );
  return rows[0] === undefined ? undefined : num(rows[0].t);
}
