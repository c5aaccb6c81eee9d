import { KLINE_INTERVALS } from '../core/intervals.js';

/**
 * The JSON methods of Binance WebSocket Streams (SUBSCRIBE, UNSUBSCRIBE, LIST_SUBSCRIPTIONS,
 * SET_PROPERTY, GET_PROPERTY) with the responses and error messages the real server sends
 * (web-socket-streams.md, "Live Subscribing/Unsubscribing to streams" and "Error Messages").
 */

/** Binance allows 1024 streams per connection. */
export const MAX_STREAMS_PER_CONNECTION = 1024;

const STREAM_RE = new RegExp(`^[a-z0-9]+@(trade|aggTrade|bookTicker|depth(@100ms|@1000ms)?|kline_(${KLINE_INTERVALS.join('|')}))$`);

/**
 * Whether `name` is a stream the simulator serves: `<symbol>@trade`, `@aggTrade`, `@bookTicker`,
 * `@depth` (`@100ms`, `@1000ms`) or `@kline_<interval>`, symbol in lower case (Binance "WebSocket
 * Streams": stream names).
 */
export function isValidStream(name: string): boolean {
  return STREAM_RE.test(name);
}

/** Symbols in stream names are lower case; the interval and type keep their case (kline_1M). */
export function normalizeStream(name: string): string {
  const at = name.indexOf('@');
  return at < 0 ? name : name.slice(0, at).toLowerCase() + name.slice(at);
}

/**
 * A data frame (raw or combined) with its times in microseconds, as Binance spot sends them to a
 * stream opened with `timeUnit=MICROSECOND`: `E` and `T`, and a kline's `k.t`/`k.T` (a trade's `t`
 * is an id and stays). Frames that are not JSON objects (fault-injected garbage) pass unchanged.
 */
export function inMicroseconds(text: string): string {
  let frame: unknown;
  try {
    frame = JSON.parse(text);
  } catch {
    return text;
  }
  if (!isRecord(frame)) return text;
  const data = isRecord(frame.data) ? frame.data : frame;
  scaleTimes(data, ['E', 'T']);
  if (isRecord(data.k)) scaleTimes(data.k, ['t', 'T']);
  return JSON.stringify(frame);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scaleTimes(o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) if (typeof o[k] === 'number') o[k] = (o[k] as number) * 1000;
}

/** What handleRequest may read of a connection: its subscribed streams and whether frames are combined. */
export interface ConnectionView {
  readonly streams: ReadonlySet<string>;
  readonly combined: boolean;
}

/** handleRequest's answer: the reply frame, and what the connection changes. */
export interface MethodOutcome {
  readonly reply: string;
  readonly subscribe?: readonly string[];
  readonly unsubscribe?: readonly string[];
  readonly combined?: boolean;
}

type RequestId = number | string | null;

const METHODS = ['SUBSCRIBE', 'UNSUBSCRIBE', 'LIST_SUBSCRIPTIONS', 'SET_PROPERTY', 'GET_PROPERTY'];

function error(code: number, msg: string, id?: RequestId): MethodOutcome {
  return { reply: JSON.stringify(id === undefined ? { error: { code, msg } } : { error: { code, msg }, id }) };
}

function result(value: unknown, id: RequestId): MethodOutcome {
  return { reply: JSON.stringify({ result: value, id }) };
}

/** The id may be a 64-bit signed integer, an alphanumeric string of up to 36 chars, or null. */
function validId(id: unknown): id is RequestId {
  if (id === null) return true;
  if (typeof id === 'number') return Number.isInteger(id);
  return typeof id === 'string' && /^[A-Za-z0-9-]{1,36}$/.test(id);
}

/** serde-style position of the end of the input ("at line 1 column N"). */
function column(text: string): number {
  return text.length;
}

/**
 * Answers one JSON text frame a client sent as Binance's WebSocket Streams server does
 * (web-socket-streams.md, "Live Subscribing/Unsubscribing to streams", "Error Messages"): `reply` is the
 * frame to send back (`{result, id}` or `{error: {code, msg}, id}` with Binance's codes 0-3 and message
 * texts), and `subscribe` / `unsubscribe` / `combined` say what the connection must change. A frame
 * that is not JSON, not an object, or has a bad id, an unknown method or bad params is answered with
 * an error, never thrown; at most MAX_STREAMS_PER_CONNECTION (1024) streams per connection.
 */
export function handleRequest(text: string, conn: ConnectionView): MethodOutcome {
  let req: unknown;
  try {
    req = JSON.parse(text);
  } catch {
    return error(3, `Invalid JSON: expected value at line 1 column 1`);
  }
  if (typeof req !== 'object' || req === null || Array.isArray(req)) {
    return error(2, `Invalid request: expected an object at line 1 column 1`);
  }
  const { method, params, id } = req as { method?: unknown; params?: unknown; id?: unknown };
  if (!('id' in req) || !validId(id)) return error(2, 'Invalid request: request ID must be an unsigned integer', null);
  if (method === undefined) return error(2, `Invalid request: missing field \`method\` at line 1 column ${column(text)}`, id);
  if (typeof method !== 'string' || !METHODS.includes(method)) {
    const shown = typeof method === 'string' ? method : JSON.stringify(method);
    const at = text.indexOf(String(shown)) + String(shown).length + 1;
    return error(
      2,
      `Invalid request: unknown variant \`${shown}\`, expected one of \`SUBSCRIBE\`, \`UNSUBSCRIBE\`, \`LIST_SUBSCRIPTIONS\`, \`SET_PROPERTY\`, \`GET_PROPERTY\` at line 1 column ${at}`,
      id,
    );
  }
  switch (method) {
    case 'SUBSCRIBE':
    case 'UNSUBSCRIBE': {
      if (!Array.isArray(params) || params.some((p) => typeof p !== 'string')) {
        return error(2, 'Invalid request: params must be an array of stream names', id);
      }
      const streams = (params as string[]).map(normalizeStream);
      const bad = streams.find((s) => !isValidStream(s));
      if (bad !== undefined) return error(2, `Invalid request: invalid stream name \`${bad}\``, id);
      if (method === 'UNSUBSCRIBE') return { ...result(null, id), unsubscribe: streams };
      const after = new Set([...conn.streams, ...streams]);
      if (after.size > MAX_STREAMS_PER_CONNECTION) return error(2, `Invalid request: too many streams (max ${MAX_STREAMS_PER_CONNECTION})`, id);
      return { ...result(null, id), subscribe: streams };
    }
    case 'LIST_SUBSCRIPTIONS':
      if (params !== undefined && !(Array.isArray(params) && params.length === 0)) return error(2, 'Invalid request: too many parameters', id);
      return result([...conn.streams], id);
    case 'SET_PROPERTY': {
      if (!Array.isArray(params) || typeof params[0] !== 'string') return error(2, 'Invalid request: property name must be a string', id);
      if (params.length > 2) return error(2, 'Invalid request: too many parameters', id);
      if (params[0] !== 'combined') return error(0, 'Unknown property', id);
      if (typeof params[1] !== 'boolean') return error(1, 'Invalid value type: expected Boolean', id);
      return { ...result(null, id), combined: params[1] };
    }
    default: {
      if (!Array.isArray(params) || typeof params[0] !== 'string') return error(2, 'Invalid request: property name must be a string', id);
      if (params.length > 1) return error(2, 'Invalid request: too many parameters', id);
      if (params[0] !== 'combined') return error(0, 'Unknown property', id);
      return result(conn.combined, id);
    }
  }
}
