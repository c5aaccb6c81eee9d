import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import { Connection, type ConnectionTimings } from './connection.js';
import type { Hub } from './hub.js';
import { isValidStream, MAX_STREAMS_PER_CONNECTION, normalizeStream } from './protocol.js';

/** Where a client asked to connect: `/stream?streams=a/b` (combined) or `/ws/a/b` (raw). */
export function parseStreamPath(url: string): { combined: boolean; streams: string[] } | null {
  const parsed = new URL(url, 'http://sim');
  const path = parsed.pathname.replace(/\/+$/, '');
  const split = (s: string) => s.split('/').filter((x) => x.length > 0).map(normalizeStream);
  if (path === '/stream') return { combined: true, streams: split(parsed.searchParams.get('streams') ?? '') };
  if (path === '/ws' || path.startsWith('/ws/')) return { combined: false, streams: split(path.slice(3)) };
  return null;
}

function reject(socket: Duplex, status: string, body: string): void {
  socket.end(`HTTP/1.1 ${status}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Serves Binance's stream paths on the simulator's HTTP server. */
export function attachWebSocketServer(server: Server, hub: Hub, timings: ConnectionTimings): WebSocketServer {
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const target = parseStreamPath(req.url ?? '/');
    if (target === null) return reject(socket, '404 Not Found', '{"code":-1,"msg":"Not found."}');
    const bad = target.streams.find((s) => !isValidStream(s));
    if (bad !== undefined) return reject(socket, '400 Bad Request', JSON.stringify({ code: 2, msg: `Invalid request: invalid stream name \`${bad}\`` }));
    if (target.streams.length > MAX_STREAMS_PER_CONNECTION) return reject(socket, '400 Bad Request', '{"code":2,"msg":"Invalid request: too many streams"}');
    wss.handleUpgrade(req, socket, head, (ws) => {
      new Connection(ws, hub, target.combined, target.streams, timings);
    });
  });
  return wss;
}
