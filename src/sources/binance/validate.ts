import type { MarketEvent } from '../../core/events.js';

/**
 * Checks of a parsed record against what it arrived on and what was asked for, after the parser
 * has checked each field's shape: the stream's symbol, the configured symbols, the values a trade
 * cannot have, and exchange times that cannot be true. A record that fails is a dead letter with
 * the reason below, never a row.
 */

export type PayloadReason = 'symbol_mismatch' | 'unconfigured_symbol' | 'zero_quantity' | 'zero_price' | 'implausible_time';

/** Why a mapped record is refused (a dead-letter reason) and the detail. */
export interface PayloadProblem {
  readonly reason: PayloadReason;
  readonly detail: string;
}

/**
 * What a mapped record must satisfy beyond its shape: a configured symbol, exchange times within
 * maxClockSkewMs (ms) of the receive time.
 */
export interface PayloadRules {
  /** Configured symbols, upper case. */
  readonly symbols: ReadonlySet<string>;
  /**
   * Largest accepted distance between an exchange time (`E`, `T`) and the receive time, in ms. A
   * 16-digit microsecond time read as milliseconds lands in the year 56574; a zero lands in 1970.
   */
  readonly maxClockSkewMs: number;
}

/**
 * The first problem of `event`, or null. `stream` is the combined-stream name it came on (null for
 * a REST snapshot line, which names no stream); `receivedMs` is the receive time in epoch ms (the
 * recording's for a replay).
 */
export function payloadProblem(event: MarketEvent, stream: string | null, receivedMs: number, rules: PayloadRules): PayloadProblem | null {
  if (stream !== null && !onStream(stream, event.symbol)) return { reason: 'symbol_mismatch', detail: `"s" is ${event.symbol} on stream ${stream}` };
  if (!rules.symbols.has(event.symbol)) {
    return { reason: 'unconfigured_symbol', detail: `${event.symbol} is not in source.symbols (${[...rules.symbols].join(', ')})` };
  }
  if (event.type === 'trade' || event.type === 'aggTrade') {
    if (isZero(event.quantity)) return { reason: 'zero_quantity', detail: `"q" is ${event.quantity}` };
    if (isZero(event.price)) return { reason: 'zero_price', detail: `"p" is ${event.price}` };
    const t = implausible('T', event.tradeTime, receivedMs, rules.maxClockSkewMs);
    if (t) return t;
  }
  if ((event.type === 'bookTicker' || event.type === 'depth' || event.type === 'depthSnapshot') && event.transactionTime !== undefined) {
    const t = implausible('T', event.transactionTime, receivedMs, rules.maxClockSkewMs);
    if (t) return t;
  }
  return implausible('E', event.eventTime, receivedMs, rules.maxClockSkewMs);
}

/**
 * True when the stream's symbol part (before `@`), upper-cased, is `symbol`. Compares ASCII
 * letters in place — this runs for every frame, and slice + toUpperCase allocated two strings per
 * frame; anything else takes the general path (toUpperCase of a non-ASCII letter can change length).
 */
function onStream(stream: string, symbol: string): boolean {
  const at = stream.indexOf('@');
  const end = at < 0 ? stream.length : at;
  if (end !== symbol.length) return stream.slice(0, end).toUpperCase() === symbol;
  for (let i = 0; i < end; i++) {
    const c = stream.charCodeAt(i);
    if (c >= 128) return stream.slice(0, end).toUpperCase() === symbol;
    if ((c >= 97 && c <= 122 ? c - 32 : c) !== symbol.charCodeAt(i)) return false;
  }
  return true;
}

function implausible(field: string, timeMs: number, receivedMs: number, maxSkewMs: number): PayloadProblem | null {
  if (Math.abs(timeMs - receivedMs) <= maxSkewMs) return null;
  return {
    reason: 'implausible_time',
    detail: `"${field}" ${timeMs} ms is ${Math.round((timeMs - receivedMs) / 1000)} s from the receive time (source.maxClockSkewMs ${maxSkewMs})`,
  };
}

/** A decimal string (already validated) whose digits are all zero. */
function isZero(decimal: string): boolean {
  for (let i = 0; i < decimal.length; i++) {
    const c = decimal.charCodeAt(i);
    if (c !== 48 /* 0 */ && c !== 46 /* . */) return false;
  }
  return true;
}
