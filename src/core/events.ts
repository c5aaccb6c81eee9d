/**
 * Normalized, exchange-neutral records. Every record is immutable and tagged by `type`.
 * Prices and quantities are exact decimal strings exactly as the exchange sent them; times are
 * epoch milliseconds, except `ingestionTimestamp`, which is epoch microseconds stamped by tickflow
 * when the frame arrived. A spot stream opened with `timeUnit=MICROSECOND` (`source.timeUnit`)
 * keeps the exchange's microseconds in the `…Micros` twins; the millisecond fields are then the
 * same instant floored to the millisecond, so windows and latency work unchanged.
 */

/** The unit of the exchange times in a frame (Binance spot "WebSocket Streams": `timeUnit`). */
export type TimeUnit = 'MILLISECOND' | 'MICROSECOND';

/**
 * Binance's market segments, the ones its source and the simulator speak. An instrument's `market`
 * is open (a string): another exchange's source names its own segments (docs/extending.md).
 */
export type Market = 'spot' | 'usdm';

/**
 * An instrument's identity: the same symbol on two markets (BTCUSDT spot and the BTCUSDT
 * perpetual) or two exchanges is two instruments. Every key, table and API uses all three.
 */
export interface Instrument {
  /** Registered exchange name (src/sources/registry.ts), e.g. `binance`. */
  readonly exchange: string;
  /** A market segment as the exchange's source names it (Binance: `spot`, `usdm`). */
  readonly market: string;
  /** Upper-case symbol, e.g. BTCUSDT. */
  readonly symbol: string;
}

/** `exchange:market:symbol`, e.g. `binance:usdm:BTCUSDT`: the instrument as one string key. */
export function instrumentKey(i: Instrument): string {
  return `${i.exchange}:${i.market}:${i.symbol}`;
}

/** Just the identity fields of anything that carries them (a row, an event). */
export function instrumentOf(i: Instrument): Instrument {
  return { exchange: i.exchange, market: i.market, symbol: i.symbol };
}

/** A decimal number as a string, e.g. "61234.56000000"; never a float. */
export type Decimal = string;

interface EventBase extends Instrument {
  /** Exchange event time `E` in epoch ms (for spot bookTicker, which has none: the ingestion time in ms). */
  readonly eventTime: number;
  /** `E` in epoch µs, present only when the stream sends microseconds (`timeUnit=MICROSECOND`). */
  readonly eventTimeMicros?: number;
  /** Epoch microseconds at which tickflow received the frame. */
  readonly ingestionTimestamp: number;
}

/**
 * One trade (Binance "Trade Streams" `<symbol>@trade`, REST `historicalTrades`): `t` → tradeId, `p`/`q` →
 * price/quantity (decimal strings as sent), `T` → tradeTime (epoch ms), `m` → buyerIsMaker.
 */
export interface TradeEvent extends EventBase {
  readonly type: 'trade';
  readonly tradeId: number;
  readonly price: Decimal;
  readonly quantity: Decimal;
  /** Trade time `T` in epoch ms: the event time that windows are assigned by. */
  readonly tradeTime: number;
  /** `T` in epoch µs, present only when the stream sends microseconds. */
  readonly tradeTimeMicros?: number;
  /** `m`: true when the buyer was the maker, i.e. the taker sold. */
  readonly buyerIsMaker: boolean;
  /**
   * USD-M only: `X`, the trade type as sent (`MARKET`, `INSURANCE_FUND`, `ADL`, `NA`, ...). Spot
   * trades have none and are all market trades. See {@link isMarketTrade}.
   */
  readonly tradeType?: string;
  /** Fetched over REST to fill a gap (src/history/healer.ts), not received live. */
  readonly healed?: true;
}

/**
 * One aggregated trade (Binance "Aggregate Trade Streams" `<symbol>@aggTrade`, REST `aggTrades`): `a` →
 * aggTradeId, `p`/`q` → price/quantity (decimal strings), `f`/`l` → firstTradeId/lastTradeId (the
 * trade ids it aggregates), `T` → tradeTime (epoch ms), `m` → buyerIsMaker.
 */
export interface AggTradeEvent extends EventBase {
  readonly type: 'aggTrade';
  readonly aggTradeId: number;
  readonly price: Decimal;
  readonly quantity: Decimal;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
  readonly tradeTime: number;
  readonly tradeTimeMicros?: number;
  readonly buyerIsMaker: boolean;
  /** Fetched over REST to fill a gap (src/history/healer.ts), not received live. */
  readonly healed?: true;
}

/**
 * Best bid and ask (Binance "Individual Symbol Book Ticker Streams" `<symbol>@bookTicker`): `u` →
 * updateId, `b`/`B` → bidPrice/bidQty, `a`/`A` → askPrice/askQty (decimal strings). Spot sends no `E`
 * (eventTime is then the ingestion time in ms); USD-M adds `E` and `T`.
 */
export interface BookTickerEvent extends EventBase {
  readonly type: 'bookTicker';
  readonly updateId: number;
  readonly bidPrice: Decimal;
  readonly bidQty: Decimal;
  readonly askPrice: Decimal;
  readonly askQty: Decimal;
  /** USD-M only: transaction time `T`. */
  readonly transactionTime?: number;
}

/**
 * One order-book level: `[price, quantity]` as Binance sends it in depth `b`/`a` and `bids`/`asks`;
 * in a diff, quantity `0` removes the level.
 */
export type PriceLevel = readonly [price: Decimal, quantity: Decimal];

/**
 * One diff of the order book (Binance "Diff. Depth Stream" `<symbol>@depth[@100ms]`): `U`/`u` →
 * firstUpdateId/finalUpdateId, `b`/`a` → bids/asks (the changed levels; quantity `0` removes one),
 * USD-M `pu` → prevFinalUpdateId and `T` → transactionTime. Applied to a REST snapshot as in "How to
 * manage a local order book correctly" (src/book/).
 */
export interface DepthEvent extends EventBase {
  readonly type: 'depth';
  readonly firstUpdateId: number;
  readonly finalUpdateId: number;
  /** USD-M only: `pu`, the final update id of the previous event. */
  readonly prevFinalUpdateId?: number;
  readonly transactionTime?: number;
  readonly bids: readonly PriceLevel[];
  readonly asks: readonly PriceLevel[];
}

/**
 * One kline update (Binance "Kline/Candlestick Streams" `<symbol>@kline_<interval>`, field `k`): `i` →
 * interval, `t`/`T` → openTime/closeTime (epoch ms; close = open + interval − 1 ms), `f`/`L` →
 * first/lastTradeId (-1 without trades), `o` `h` `l` `c` `v` `q` → OHLC, volume, quoteVolume, `n` →
 * tradeCount, `V`/`Q` → takerBuyVolume/takerBuyQuoteVolume (decimal strings), `x` → closed (the
 * kline is final).
 */
export interface KlineEvent extends EventBase {
  readonly type: 'kline';
  readonly interval: string;
  readonly openTime: number;
  readonly closeTime: number;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
  readonly open: Decimal;
  readonly high: Decimal;
  readonly low: Decimal;
  readonly close: Decimal;
  readonly volume: Decimal;
  readonly quoteVolume: Decimal;
  readonly tradeCount: number;
  readonly takerBuyVolume: Decimal;
  readonly takerBuyQuoteVolume: Decimal;
  readonly closed: boolean;
}

/**
 * A REST order-book snapshot (`GET /api/v3/depth`, USD-M `GET /fapi/v1/depth`) as Binance recorders
 * write it between the stream frames (`{"lastUpdateId":…,"bids":[…],"asks":[…]}`, USD-M adds `E`
 * and `T`). The local order book starts from it (Binance "How to manage a local order book
 * correctly"). It names no symbol: the replay attributes it to the symbol of the diff-depth
 * stream read before it. `eventTime` is `E` when present, else the ingestion time in ms.
 */
export interface DepthSnapshotEvent extends EventBase {
  readonly type: 'depthSnapshot';
  readonly lastUpdateId: number;
  /** USD-M only: `T`. */
  readonly transactionTime?: number;
  readonly bids: readonly PriceLevel[];
  readonly asks: readonly PriceLevel[];
}

/** Everything a source maps from the exchange's market data (parseFrame, the REST mappers, a replay). */
export type MarketEvent = TradeEvent | AggTradeEvent | BookTickerEvent | DepthEvent | KlineEvent | DepthSnapshotEvent;

/**
 * A hole in an id sequence found by the source: trade `t` or aggTrade `a` (ids missing), or a
 * diff-depth sequence break (`depth`: the update ids between the previous event's `u` and the
 * next event's start, i.e. spot `U` − 1, USD-M `pu`).
 */
export interface GapEvent extends Instrument {
  readonly type: 'gap';
  readonly stream: 'trade' | 'aggTrade' | 'depth';
  readonly firstMissingId: number;
  readonly lastMissingId: number;
  /** Epoch ms at which the gap was detected. */
  readonly detectedAt: number;
  /**
   * `reconnect`/`rotation`: the first id on a new connection; `sequence`: a hole within one;
   * `restart`: between the last id stored before tickflow started and the first one received.
   */
  readonly reason: 'reconnect' | 'rotation' | 'sequence' | 'restart';
}

/** Input that could not be turned into a record, kept with the raw frame so nothing is lost. */
export interface DeadLetterEvent {
  readonly type: 'deadLetter';
  /** Where the input came from, e.g. `binance-ws`, `kafka:binance.trades`, `replay`. */
  readonly origin: string;
  /** A stable reason code, e.g. `malformed_json`, `unknown_stream`, `invalid_field`. */
  readonly reason: string;
  readonly detail: string;
  readonly raw: string;
  /** Epoch ms. */
  readonly receivedAt: number;
  /**
   * Tells identical bad frames received in the same millisecond apart (each is kept); the same
   * dead letter redelivered by the bus keeps its value and stays one row. The source's count of
   * dead letters so far (deterministic for a replay); 0 where one event maps to one letter.
   */
  readonly seq?: number;
}

/**
 * The local order book's best `depth` levels per side at one moment (src/book/book-keeper.ts),
 * taken every `book.snapshotMs` while the book is in step with the diff stream. Stored in
 * book_snapshots; `GET /api/book` of a process without a live book answers the latest one.
 */
export interface BookSnapshotEvent extends Instrument {
  readonly type: 'bookSnapshot';
  /** The diff-depth final update id `u` (or the REST snapshot's lastUpdateId) the book reflects. */
  readonly updateId: number;
  /** Levels asked per side (`book.depth`); a thin book may have fewer. */
  readonly depth: number;
  /** Best first: bids by descending price, asks by ascending price. */
  readonly bids: readonly PriceLevel[];
  readonly asks: readonly PriceLevel[];
  /** Epoch ms at which the levels were read. */
  readonly takenAt: number;
}

/**
 * Everything the bus carries from sources to the store writer and the processor: market data, gaps,
 * dead letters and the local book's snapshots.
 */
export type PipelineEvent = MarketEvent | GapEvent | DeadLetterEvent | BookSnapshotEvent;

/**
 * The bus record key: `exchange:market:symbol` (instrumentKey), so each instrument's records stay
 * in order on one partition and spot and futures of one symbol never share a key; dead letters
 * have no instrument and are keyed by origin (docs/kafka.md "Keys").
 */
export function eventKey(event: PipelineEvent): string {
  return event.type === 'deadLetter' ? event.origin : instrumentKey(event);
}

/**
 * True for a trade that belongs in candles and trade metrics: every spot trade and aggTrade, and
 * USD-M trades whose `X` is `MARKET`. Binance leaves INSURANCE_FUND, ADL and NA trades out of
 * aggTrades and the official klines; tickflow stores them but builds nothing from them.
 */
export function isMarketTrade(event: TradeEvent | AggTradeEvent): boolean {
  return event.type === 'aggTrade' || event.tradeType === undefined || event.tradeType === 'MARKET';
}

/** The id a trade record is known by: trade `t`, aggTrade `a` (each contiguous per instrument). */
export function tradeIdOf(e: TradeEvent | AggTradeEvent): number {
  return e.type === 'trade' ? e.tradeId : e.aggTradeId;
}

/** The exchange event time used for latency and event-time windows. */
export function exchangeTime(event: MarketEvent): number {
  return event.type === 'trade' || event.type === 'aggTrade' ? event.tradeTime : event.eventTime;
}
