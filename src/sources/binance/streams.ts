import type { Config } from '../../config/schema.js';
import type { Market } from '../../core/events.js';

/** Stream names, URLs and the per-market protocol constants (Binance "WebSocket Streams" docs). */

export const SPOT_WS_URL = 'wss://stream.binance.com:9443';
export const USDM_WS_URL = 'wss://fstream.binance.com';
/** USD-M allows 200 streams per connection (spot: 1024). */
const USDM_MAX_STREAMS = 200;
/** USD-M pings every 3 minutes and waits 10 for the pong (spot: 20 s and 1 min). */
const USDM_PING_INTERVAL_MS = 180_000;

/** The configured base URL, except that the spot default means the USD-M default for `usdm`. */
export function wsBaseUrlFor(market: Market, configured: string): string {
  return market === 'usdm' && configured === SPOT_WS_URL ? USDM_WS_URL : configured;
}

/**
 * A ping timeout below the USD-M ping interval would kill every healthy futures connection, so
 * for `usdm` the configured value is raised to one interval plus a minute.
 */
export function usdmPingTimeout(configuredMs: number): number {
  return Math.max(configuredMs, USDM_PING_INTERVAL_MS + 60_000);
}

/** `depth` means the 100 ms diff-depth stream; the rest are Binance's own names. */
export function wireStreamName(symbol: string, stream: string): string {
  return `${symbol.toLowerCase()}@${stream === 'depth' ? 'depth@100ms' : stream}`;
}

/** Every symbol × stream, grouped into connections of at most maxStreamsPerConnection streams. */
export function subscribedStreams(config: Pick<Config['source'], 'market' | 'symbols' | 'streams' | 'maxStreamsPerConnection'>): string[][] {
  const names = [...new Set(config.symbols.flatMap((s) => config.streams.map((st) => wireStreamName(s, st))))];
  const per = config.market === 'usdm' ? Math.min(config.maxStreamsPerConnection, USDM_MAX_STREAMS) : config.maxStreamsPerConnection;
  const groups: string[][] = [];
  for (let i = 0; i < names.length; i += per) groups.push(names.slice(i, i + per));
  return groups;
}

export function streamUrl(baseUrl: string, streams: readonly string[]): string {
  return `${baseUrl.replace(/\/+$/, '')}/stream?streams=${streams.join('/')}`;
}
