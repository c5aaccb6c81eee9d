import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { Market } from '../core/events.js';
import type { UsdmRoute } from '../sources/binance/streams.js';
import { Connection, type ConnectionRules } from './connection.js';
import type { Hub } from './hub.js';
import { isValidStream, MAX_STREAMS_PER_CONNECTION, normalizeStream } from './protocol.js';

/** What a client's URL asked for: raw or combined, the streams, the USD-M route, microsecond times. */
export interface StreamPath {
  readonly combined: boolean;
  readonly streams: string[];
  /** USD-M: the routed path the connection is on (none given counts as `/public`); null for spot. */
  readonly route: UsdmRoute | null;
  /** The client asked for microsecond times (`timeUnit=MICROSECOND`, either case, as on Binance spot). */
  readonly micros: boolean;
}

/**
 * Where a client asked to connect: `/stream?streams=a/b` (combined) or `/ws/a/b` (raw). USD-M also
 * takes them under `/public` and `/market` ("Important WebSocket Change Notice"); a connection
 * without a routed path is served like `/public`, as Binance does. `/private` (user data) is not served.
 */
export function parseStreamPath(url: string, market: Market = 'spot'): StreamPath | null {
  const parsed = new URL(url, 'http://sim');
  let path = parsed.pathname.replace(/\/+$/, '');
  let route: UsdmRoute | null = null;
  if (market === 'usdm') {
    const prefix = /^\/(public|market)(?=\/|$)/.exec(path);
    route = (prefix?.[1] as UsdmRoute | undefined) ?? 'public';
    path = path.slice(prefix?.[0].length ?? 0);
  }
  const split = (s: string) =>
    s
      .split('/')
      .filter((x) => x.length > 0)
      .map(normalizeStream);
  const micros = parsed.searchParams.get('timeUnit')?.toUpperCase() === 'MICROSECOND';
  if (path === '/stream') return { combined: true, streams: split(parsed.searchParams.get('streams') ?? ''), route, micros };
  if (path === '/ws' || path.startsWith('/ws/')) return { combined: false, streams: split(path.slice(3)), route, micros };
  return null;
}

function reject(socket: Duplex, status: string, body: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Serves Binance's stream paths of `market` on the simulator's HTTP server. */
export function attachWebSocketServer(server: Server, hub: Hub, rules: ConnectionRules, market: Market): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = parseStreamPath(req.url ?? '/', market);
    if (target === null) return reject(socket, '404 Not Found', '{"code":-1,"msg":"Not found."}');
    const bad = target.streams.find((s) => !isValidStream(s));
    if (bad !== undefined) return reject(socket, '400 Bad Request', JSON.stringify({ code: 2, msg: `Invalid request: invalid stream name \`${bad}\`` }));
    if (target.streams.length > MAX_STREAMS_PER_CONNECTION) return reject(socket, '400 Bad Request', '{"code":2,"msg":"Invalid request: too many streams"}');
    wss.handleUpgrade(req, socket, head, (ws) => {
      new Connection(ws, socket, hub, target, rules);
    });
  });
  return wss;
}
