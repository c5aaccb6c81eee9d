import { ErrorCodes, TickflowError } from '../core/errors.js';
import { type AggTradeEvent, type Instrument, instrumentOf, type TradeEvent } from '../core/events.js';
import { type Dec, mul, parseDecimal } from '../core/decimal.js';

/**
 * A trade with its decimals parsed once, shared by every window kind that consumes it. An
 * aggTrade stands for `lastTradeId − firstTradeId + 1` trades at one price, which is how Binance
 * counts it in a kline.
 */
export interface TradeInput {
  readonly instrument: Instrument;
  readonly time: number;
  readonly id: number;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
  readonly trades: number;
  readonly price: Dec;
  readonly quantity: Dec;
  readonly notional: Dec;
  /** The taker bought (`m` false): counts as taker-buy volume. */
  readonly takerBuy: boolean;
}

/** The latest epoch ms a JavaScript Date (and so a row's TIMESTAMPTZ) can hold: 8.64e15, year 275760. */
const MAX_DATE_MS = 8_640_000_000_000_000;

/**
 * An event time (epoch ms) windows can be keyed by: a safe integer from 1970 to what a Date holds.
 * Throws DECODE otherwise (the event is skipped and counted), so that one absurd time (2^53) never
 * becomes the watermark of its partition nor a window no row can hold.
 */
export function windowTime(ms: number, field: string): number {
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > MAX_DATE_MS) {
    throw new TickflowError(ErrorCodes.DECODE, `${field} ${ms} is not an epoch-ms time a window can hold`);
  }
  return ms;
}

/** Throws DECODE (TickflowError) for a price or quantity that is not a decimal, or an unusable time. */
export function tradeInput(event: TradeEvent | AggTradeEvent): TradeInput {
  const price = parseDecimal(event.price);
  const quantity = parseDecimal(event.quantity);
  const first = event.type === 'trade' ? event.tradeId : event.firstTradeId;
  const last = event.type === 'trade' ? event.tradeId : event.lastTradeId;
  return {
    instrument: instrumentOf(event),
    time: windowTime(event.tradeTime, 'tradeTime'),
    id: event.type === 'trade' ? event.tradeId : event.aggTradeId,
    firstTradeId: first,
    lastTradeId: last,
    trades: last - first + 1,
    price,
    quantity,
    notional: mul(price, quantity),
    takerBuy: !event.buyerIsMaker,
  };
}

/** The trade ids a trade stands for (WindowKind.ids): completeness of trade windows is judged by them. */
export function tradeIds(t: TradeInput): readonly [number, number] {
  return [t.firstTradeId, t.lastTradeId];
}

/** The trade ids folded into a window (WindowKind.idSpan); undefined for a window without trades. */
export function tradeIdSpan(s: {
  readonly tradeCount: number;
  readonly firstTradeId: number;
  readonly lastTradeId: number;
}): readonly [number, number] | undefined {
  return s.tradeCount > 0 ? [s.firstTradeId, s.lastTradeId] : undefined;
}

/** The open and close of a window, with the trade ids that set them. */
export interface OpenClose {
  open: TradeInput['price'];
  close: TradeInput['price'];
  firstTradeId: number;
  lastTradeId: number;
}

/**
 * Trade ids increase with time per instrument, so they order open and close even for trades that
 * arrive late or out of order.
 */
export function applyOpenClose(s: OpenClose, t: TradeInput): void {
  if (t.firstTradeId < s.firstTradeId) {
    s.open = t.price;
    s.firstTradeId = t.firstTradeId;
  }
  if (t.lastTradeId >= s.lastTradeId) {
    s.close = t.price;
    s.lastTradeId = t.lastTradeId;
  }
}
