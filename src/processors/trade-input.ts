import type { AggTradeEvent, TradeEvent } from '../core/events.js';
import { type Dec, mul, parseDecimal } from './decimal.js';

/**
 * A trade with its decimals parsed once, shared by every window kind that consumes it. An
 * aggTrade stands for `lastTradeId − firstTradeId + 1` trades at one price, which is how Binance
 * counts it in a kline.
 */
export interface TradeInput {
  readonly symbol: string;
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

export function tradeInput(event: TradeEvent | AggTradeEvent): TradeInput {
  const price = parseDecimal(event.price);
  const quantity = parseDecimal(event.quantity);
  const first = event.type === 'trade' ? event.tradeId : event.firstTradeId;
  const last = event.type === 'trade' ? event.tradeId : event.lastTradeId;
  return {
    symbol: event.symbol,
    time: event.tradeTime,
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

/** The open and close of a window, with the trade ids that set them. */
export interface OpenClose {
  open: TradeInput['price'];
  close: TradeInput['price'];
  firstTradeId: number;
  lastTradeId: number;
}

/**
 * Trade ids increase with time per symbol, so they order open and close even for trades that
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
