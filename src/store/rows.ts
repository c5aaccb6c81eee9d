import { createHash } from 'node:crypto';
import type {
  AggTradeEvent,
  BookSnapshotEvent,
  BookTickerEvent,
  DeadLetterEvent,
  DepthEvent,
  DepthSnapshotEvent,
  GapEvent,
  KlineEvent,
  PipelineEvent,
  TradeEvent,
} from '../core/events.js';
import { type Column, columnParams, copyFromStdin, ident, unnestInsert } from './sql.js';

/**
 * How each event type becomes a row: one column list per table, written as
 * `INSERT ... SELECT FROM unnest($1::type[], ...)` so a whole batch is one statement with one
 * parameter per column, whatever the number of rows.
 */

export interface TableWrite<E extends PipelineEvent = PipelineEvent> {
  readonly table: string;
  readonly columns: readonly string[];
  readonly sql: string;
  /**
   * For a table whose duplicates are ignored (ON CONFLICT DO NOTHING): the COPY of the same
   * columns, which loads a batch without duplicates for a fraction of the INSERT's cost (store/batch-write.ts).
   */
  readonly copySql?: string;
  readonly params: (events: readonly E[]) => unknown[];
  /** Orders or merges a batch's rows before the insert (default: as received). */
  readonly prepare?: (events: readonly E[]) => E[];
}

/**
 * Epoch ms as an ISO-8601 string. Strings, not floats, cross into SQL because
 * `to_timestamp(double)` would round microseconds; an impossible time stays a string the
 * database rejects, which routes the row to dead_letters instead of throwing here.
 */
export function isoFromMs(ms: number): string {
  // Date#toISOString was an eighth of the store role's CPU draining a backlog: consecutive rows
  // share their second, so only the milliseconds are formatted per row.
  // Years outside 0000–9999 (written ±YYYYYY-…), fractions and invalid times: formatted whole, never cached.
  if (!Number.isInteger(ms) || ms < MIN_CACHED_MS || ms > MAX_CACHED_MS) return isoOfDate(ms);
  const second = Math.floor(ms / 1000);
  if (second !== lastSecond) {
    lastSecond = second;
    lastSecondIso = new Date(second * 1000).toISOString().slice(0, 20);
  }
  const millis = ms - second * 1000;
  return `${lastSecondIso}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}Z`;
}
/** 0000-01-01T00:00:00.000Z (Date.UTC maps year 0 to 1900). */
const MIN_CACHED_MS = -62_167_219_200_000;
const MAX_CACHED_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
let lastSecond = NaN;
/** `YYYY-MM-DDTHH:MM:SS.` of lastSecond. */
let lastSecondIso = '';

function isoOfDate(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? `invalid time ${ms}` : date.toISOString();
}

/** Epoch µs (ingestionTimestamp) as an ISO-8601 string with all six fractional digits. */
export function isoFromMicros(us: number): string {
  if (!Number.isSafeInteger(us)) return `invalid time ${us}`;
  const ms = Math.floor(us / 1000);
  const iso = isoFromMs(ms);
  return iso.endsWith('Z') ? `${iso.slice(0, -1)}${String(us - ms * 1000).padStart(3, '0')}Z` : iso;
}

const optionalIso = (ms: number | undefined): string | null => (ms === undefined ? null : isoFromMs(ms));
/** The exchange's microseconds when the stream sent them (`timeUnit=MICROSECOND`), else the milliseconds. */
const preciseIso = (micros: number | undefined, ms: number): string => (micros === undefined ? isoFromMs(ms) : isoFromMicros(micros));

const IGNORE_DUPLICATES = 'ON CONFLICT DO NOTHING';

function tableWrite<E extends PipelineEvent>(
  table: string,
  columns: readonly Column<E>[],
  conflict: string,
  prepare?: TableWrite<E>['prepare'],
): TableWrite<E> {
  return {
    table,
    columns: columns.map((c) => c.name),
    // The CTE counts rows actually inserted, so duplicates show up in stats.
    sql: `WITH inserted AS (${unnestInsert(table, columns, conflict)} RETURNING 1) SELECT count(*) AS n FROM inserted`,
    ...(conflict === IGNORE_DUPLICATES ? { copySql: copyFromStdin(table, columns) } : {}),
    params: (events) => columnParams(columns, events),
    ...(prepare ? { prepare } : {}),
  };
}

type MarketBase = TradeEvent | AggTradeEvent | BookTickerEvent | DepthEvent | KlineEvent | DepthSnapshotEvent;

/** The instrument columns (exchange, market, symbol) of any record that carries one. */
function source<E extends Exclude<PipelineEvent, DeadLetterEvent>>(): Column<E>[] {
  return [
    { name: 'exchange', type: 'text', value: (e) => e.exchange },
    { name: 'market', type: 'text', value: (e) => e.market },
    { name: 'symbol', type: 'text', value: (e) => e.symbol },
  ];
}

function times<E extends MarketBase>(): Column<E>[] {
  return [
    { name: 'event_time', type: 'timestamptz', value: (e) => preciseIso(e.eventTimeMicros, e.eventTime) },
    { name: 'ingestion_timestamp', type: 'timestamptz', value: (e) => isoFromMicros(e.ingestionTimestamp) },
  ];
}

/** isMarketTrade() in SQL over the trades table (`alias`): what candles and the tape are built from. */
export function marketTradeSql(alias: string): string {
  return `(${alias}.trade_type IS NULL OR ${alias}.trade_type = 'MARKET')`;
}

const trades = tableWrite<TradeEvent | AggTradeEvent>(
  'trades',
  [
    ...source(),
    { name: 'kind', type: 'text', value: (e) => e.type },
    { name: 'trade_id', type: 'bigint', value: (e) => (e.type === 'trade' ? e.tradeId : e.aggTradeId) },
    { name: 'price', type: 'numeric', value: (e) => e.price },
    { name: 'quantity', type: 'numeric', value: (e) => e.quantity },
    { name: 'first_trade_id', type: 'bigint', value: (e) => (e.type === 'aggTrade' ? e.firstTradeId : null) },
    { name: 'last_trade_id', type: 'bigint', value: (e) => (e.type === 'aggTrade' ? e.lastTradeId : null) },
    { name: 'buyer_is_maker', type: 'boolean', value: (e) => e.buyerIsMaker },
    { name: 'trade_time', type: 'timestamptz', value: (e) => preciseIso(e.tradeTimeMicros, e.tradeTime) },
    ...times(),
    { name: 'trade_type', type: 'text', value: (e) => (e.type === 'trade' ? (e.tradeType ?? null) : null) },
  ],
  IGNORE_DUPLICATES,
);

const bookTicker = tableWrite<BookTickerEvent>(
  'book_ticker',
  [
    ...source(),
    { name: 'update_id', type: 'bigint', value: (e) => e.updateId },
    { name: 'bid_price', type: 'numeric', value: (e) => e.bidPrice },
    { name: 'bid_qty', type: 'numeric', value: (e) => e.bidQty },
    { name: 'ask_price', type: 'numeric', value: (e) => e.askPrice },
    { name: 'ask_qty', type: 'numeric', value: (e) => e.askQty },
    { name: 'transaction_time', type: 'timestamptz', value: (e) => optionalIso(e.transactionTime) },
    ...times(),
  ],
  IGNORE_DUPLICATES,
);

const depth = tableWrite<DepthEvent>(
  'depth_updates',
  [
    ...source(),
    { name: 'first_update_id', type: 'bigint', value: (e) => e.firstUpdateId },
    { name: 'final_update_id', type: 'bigint', value: (e) => e.finalUpdateId },
    { name: 'prev_final_update_id', type: 'bigint', value: (e) => e.prevFinalUpdateId ?? null },
    { name: 'transaction_time', type: 'timestamptz', value: (e) => optionalIso(e.transactionTime) },
    ...times(),
    { name: 'bids', type: 'jsonb', value: (e) => JSON.stringify(e.bids) },
    { name: 'asks', type: 'jsonb', value: (e) => JSON.stringify(e.asks) },
  ],
  IGNORE_DUPLICATES,
);

const depthSnapshots = tableWrite<DepthSnapshotEvent>(
  'depth_snapshots',
  [
    ...source(),
    { name: 'last_update_id', type: 'bigint', value: (e) => e.lastUpdateId },
    { name: 'transaction_time', type: 'timestamptz', value: (e) => optionalIso(e.transactionTime) },
    ...times(),
    { name: 'bids', type: 'jsonb', value: (e) => JSON.stringify(e.bids) },
    { name: 'asks', type: 'jsonb', value: (e) => JSON.stringify(e.asks) },
  ],
  IGNORE_DUPLICATES,
);

const bookSnapshots = tableWrite<BookSnapshotEvent>(
  'book_snapshots',
  [
    ...source(),
    { name: 'update_id', type: 'bigint', value: (e) => e.updateId },
    { name: 'depth', type: 'integer', value: (e) => e.depth },
    { name: 'bids', type: 'jsonb', value: (e) => JSON.stringify(e.bids) },
    { name: 'asks', type: 'jsonb', value: (e) => JSON.stringify(e.asks) },
    { name: 'taken_at', type: 'timestamptz', value: (e) => isoFromMs(e.takenAt) },
  ],
  IGNORE_DUPLICATES,
);

const KLINE_VALUES = [
  'close_time',
  'first_trade_id',
  'last_trade_id',
  'open',
  'high',
  'low',
  'close',
  'volume',
  'quote_volume',
  'trade_count',
  'taker_buy_volume',
  'taker_buy_quote_volume',
  'closed',
  'event_time',
  'ingestion_timestamp',
];

/** Binance pushes the open candle every couple of seconds: one statement may only touch a row once, so keep each candle's latest push. */
function latestKlines(events: readonly KlineEvent[]): KlineEvent[] {
  const latest = new Map<string, KlineEvent>();
  for (const e of events) {
    const key = `${e.exchange}|${e.market}|${e.symbol}|${e.interval}|${e.openTime}`;
    const seen = latest.get(key);
    if (!seen || seen.eventTime <= e.eventTime) latest.set(key, e);
  }
  return [...latest.values()];
}

const klines = tableWrite<KlineEvent>(
  'klines',
  [
    ...source(),
    { name: 'interval', type: 'text', value: (e) => e.interval },
    { name: 'open_time', type: 'timestamptz', value: (e) => isoFromMs(e.openTime) },
    { name: 'close_time', type: 'timestamptz', value: (e) => isoFromMs(e.closeTime) },
    { name: 'first_trade_id', type: 'bigint', value: (e) => e.firstTradeId },
    { name: 'last_trade_id', type: 'bigint', value: (e) => e.lastTradeId },
    { name: 'open', type: 'numeric', value: (e) => e.open },
    { name: 'high', type: 'numeric', value: (e) => e.high },
    { name: 'low', type: 'numeric', value: (e) => e.low },
    { name: 'close', type: 'numeric', value: (e) => e.close },
    { name: 'volume', type: 'numeric', value: (e) => e.volume },
    { name: 'quote_volume', type: 'numeric', value: (e) => e.quoteVolume },
    { name: 'trade_count', type: 'bigint', value: (e) => e.tradeCount },
    { name: 'taker_buy_volume', type: 'numeric', value: (e) => e.takerBuyVolume },
    { name: 'taker_buy_quote_volume', type: 'numeric', value: (e) => e.takerBuyQuoteVolume },
    { name: 'closed', type: 'boolean', value: (e) => e.closed },
    ...times(),
  ],
  `ON CONFLICT (exchange, market, symbol, interval, open_time) DO UPDATE SET ${KLINE_VALUES.map((c) => `${ident(c)} = EXCLUDED.${ident(c)}`).join(', ')}
   WHERE klines.event_time < EXCLUDED.event_time`,
  latestKlines,
);

const gaps = tableWrite<GapEvent>(
  'gaps',
  [
    ...source(),
    { name: 'stream', type: 'text', value: (e) => e.stream },
    { name: 'first_missing_id', type: 'bigint', value: (e) => e.firstMissingId },
    { name: 'last_missing_id', type: 'bigint', value: (e) => e.lastMissingId },
    { name: 'detected_at', type: 'timestamptz', value: (e) => isoFromMs(e.detectedAt) },
    { name: 'reason', type: 'text', value: (e) => e.reason },
  ],
  IGNORE_DUPLICATES,
);

const deadLetters = tableWrite<DeadLetterEvent>(
  'dead_letters',
  [
    { name: 'origin', type: 'text', value: (e) => e.origin },
    { name: 'reason', type: 'text', value: (e) => e.reason },
    { name: 'detail', type: 'text', value: (e) => e.detail },
    { name: 'raw', type: 'text', value: (e) => e.raw },
    { name: 'raw_md5', type: 'text', value: (e) => createHash('md5').update(e.raw).digest('hex') },
    { name: 'received_at', type: 'timestamptz', value: (e) => isoFromMs(e.receivedAt) },
    { name: 'seq', type: 'bigint', value: (e) => e.seq ?? 0 },
  ],
  IGNORE_DUPLICATES,
);

/** Every table the store writes, in the order a batch writes them. */
export const TABLE_WRITES = [trades, bookTicker, depth, depthSnapshots, bookSnapshots, klines, gaps, deadLetters] as readonly TableWrite[];

/**
 * The table a PipelineEvent is stored in: trade and aggTrade share `trades` (column `kind`), then
 * `book_ticker`, `depth_updates`, `depth_snapshots`, `book_snapshots`, `klines`, `gaps`, `dead_letters`.
 */
export function tableOf(event: PipelineEvent): string {
  switch (event.type) {
    case 'trade':
    case 'aggTrade':
      return 'trades';
    case 'bookTicker':
      return 'book_ticker';
    case 'depth':
      return 'depth_updates';
    case 'depthSnapshot':
      return 'depth_snapshots';
    case 'bookSnapshot':
      return 'book_snapshots';
    case 'kline':
      return 'klines';
    case 'gap':
      return 'gaps';
    case 'deadLetter':
      return 'dead_letters';
  }
}
