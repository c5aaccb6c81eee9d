import type { Config } from '../../config/schema.js';
import type { Market, TimeUnit } from '../../core/events.js';

/** Stream names, URLs and the per-market protocol constants (Binance "WebSocket Streams" docs). */

export const SPOT_WS_URL = 'wss://stream.binance.com:9443';
/** USD-M futures stream host ("Websocket Market Streams"). */
export const USDM_WS_URL = 'wss://fstream.binance.com';
/** REST hosts ("General API Information" of the spot and USD-M futures APIs). */
export const SPOT_REST_URL = 'https://api.binance.com';
/** USD-M futures REST host. */
export const USDM_REST_URL = 'https://fapi.binance.com';
/** USD-M allows 200 streams per connection (spot: 1024). */
const USDM_MAX_STREAMS = 200;

/** How a Binance stream server keeps a connection alive, per market. */
export interface KeepAlive {
  /** The server sends a ping frame this often (ms). */
  readonly pingIntervalMs: number;
  /** The server drops a connection that has not answered a ping within this long (ms). */
  readonly pongTimeoutMs: number;
  /** Incoming frames (pings, pongs, JSON requests) a connection may send per second before it is cut. */
  readonly maxIncomingPerSecond: number;
}

/**
 * Spot: "WebSocket Streams for Binance", General WSS information (ping every 20 s, pong within
 * 1 minute, 5 incoming messages per second); public reports see spot pings only every ~3 minutes.
 * USD-M: "Websocket Market Streams" (ping every 3 minutes, disconnect after 10 minutes without a pong,
 * 10 incoming messages per second). The client never depends on the ping cadence: data or any
 * control frame proves a connection alive (see connection.ts).
 */
export const KEEPALIVE: Readonly<Record<Market, KeepAlive>> = {
  spot: { pingIntervalMs: 20_000, pongTimeoutMs: 60_000, maxIncomingPerSecond: 5 },
  usdm: { pingIntervalMs: 180_000, pongTimeoutMs: 600_000, maxIncomingPerSecond: 10 },
};

/**
 * The routed paths of USD-M futures WebSocket traffic since 2026-04-23 (Binance USD-M futures docs,
 * "Important WebSocket Change Notice — Base URL Split & Migration"): `/public` carries high-frequency
 * book data, `/market` regular market data, `/private` user data. A combined connection on one path
 * silently gets no data for streams of another, and a connection without a routed path is served
 * like `/public`.
 */
export type UsdmRoute = 'public' | 'market';

/**
 * The route of every stream type tickflow subscribes to, the one place to change when Binance
 * moves a stream. bookTicker and depth are listed under Public and aggTrade and kline under Market in
 * the notice's stream mapping. `trade` is disputed: client libraries (ccxt) route it to /market,
 * later field observations (2026-09, counting frames per path) see it only on /public.
 */
export const USDM_ROUTES: Readonly<Record<'trade' | 'aggTrade' | 'bookTicker' | 'depth' | 'kline', UsdmRoute>> = {
  trade: 'public',
  aggTrade: 'market',
  bookTicker: 'public',
  depth: 'public',
  kline: 'market',
};

/**
 * The USD-M route of a wire stream name (`btcusdt@depth@100ms`, `btcusdt@kline_1m`); undefined for a
 * stream type tickflow does not know, which no route carries.
 */
export function usdmRouteOf(wireName: string): UsdmRoute | undefined {
  const type = wireName.split('@')[1] ?? '';
  const key = type.startsWith('kline_') ? 'kline' : type;
  return Object.hasOwn(USDM_ROUTES, key) ? USDM_ROUTES[key as keyof typeof USDM_ROUTES] : undefined;
}

/** The configured base URL, except that the spot default means the USD-M default for `usdm`. */
export function wsBaseUrlFor(market: Market, configured: string): string {
  return market === 'usdm' && configured === SPOT_WS_URL ? USDM_WS_URL : configured;
}

/** The configured REST base URL, except that the spot default means the USD-M default for `usdm`. */
export function restBaseUrlFor(market: Market, configured: string): string {
  return market === 'usdm' && configured === SPOT_REST_URL ? USDM_REST_URL : configured;
}

/** `depth` means the 100 ms diff-depth stream; the rest are Binance's own names. */
export function wireStreamName(symbol: string, stream: string): string {
  return `${symbol.toLowerCase()}@${stream === 'depth' ? 'depth@100ms' : stream}`;
}

/** Streams that share one connection, and the routed path (USD-M) they must be requested on. */
export interface StreamGroup {
  /** `''` for spot (no routed paths), else the USD-M route. */
  readonly route: '' | UsdmRoute;
  readonly streams: readonly string[];
}

/**
 * Every symbol × stream, grouped into connections of at most maxStreamsPerConnection streams. For
 * USD-M the streams of each route get connections of their own (public first, then market), since a
 * connection on one route never delivers the streams of another.
 */
export function subscribedStreams(config: Pick<Config['source'], 'market' | 'symbols' | 'streams' | 'maxStreamsPerConnection'>): StreamGroup[] {
  const names = [...new Set(config.symbols.flatMap((s) => config.streams.map((st) => wireStreamName(s, st))))];
  if (config.market === 'spot') return chunk('', names, config.maxStreamsPerConnection);
  const per = Math.min(config.maxStreamsPerConnection, USDM_MAX_STREAMS);
  return (['public', 'market'] as const).flatMap((route) =>
    chunk(
      route,
      names.filter((n) => usdmRouteOf(n) === route),
      per,
    ),
  );
}

function chunk(route: StreamGroup['route'], names: readonly string[], per: number): StreamGroup[] {
  const groups: StreamGroup[] = [];
  for (let i = 0; i < names.length; i += per) groups.push({ route, streams: names.slice(i, i + per) });
  return groups;
}

/**
 * The combined-stream URL of a group: `<base>[/<route>]/stream?streams=a/b`. A USD-M base given with
 * a route already (`wss://fstream.binance.com/market`) is taken as the root, so every group still
 * lands on its own route; hosts other than Binance's (simulator, testnet, demo) get the same paths.
 * `timeUnit` MICROSECOND asks spot for 16-digit µs times (Binance spot "WebSocket Streams").
 */
export function streamUrl(baseUrl: string, streams: readonly string[], route: StreamGroup['route'] = '', timeUnit: TimeUnit = 'MILLISECOND'): string {
  let base = baseUrl.replace(/\/+$/, '');
  if (route !== '') base = `${base.replace(/\/(public|market|private)$/, '')}/${route}`;
  const unit = timeUnit === 'MICROSECOND' ? '&timeUnit=MICROSECOND' : '';
  return `${base}/stream?streams=${streams.join('/')}${unit}`;
}
