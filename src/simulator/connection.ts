import type { WebSocket } from 'ws';
import { type UsdmRoute, usdmRouteOf } from '../sources/binance/streams.js';
import type { Hub, Subscriber } from './hub.js';
import { handleRequest, inMicroseconds } from './protocol.js';
import type { StreamPath } from './ws-server.js';

export interface ConnectionTimings {
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly lifetimeMs: number;
  /** Incoming frames (pings, unsolicited pongs, JSON requests) per second before the cut. */
  readonly maxIncomingPerSecond: number;
}
/** A client this far behind is cut, as Binance drops slow consumers instead of buffering. */
const MAX_BUFFERED_BYTES = 64 * 1024 * 1024;

/**
 * One client connection with Binance's rules: pings with a payload every pingIntervalMs, a cut
 * when no pong arrives within pongTimeoutMs, a cut above maxIncomingPerSecond incoming messages, the
 * end of the connection after its lifetime (24 h on Binance), and on USD-M only the streams of the
 * connection's routed path are delivered (others are accepted and stay silent, as on Binance).
 */
export class Connection implements Subscriber {
  readonly streams = new Set<string>();
  combined: boolean;
  private readonly ws: WebSocket;
  private readonly hub: Hub;
  private readonly route: UsdmRoute | null;
  /** The client opened the stream with `timeUnit=MICROSECOND`. */
  private readonly micros: boolean;
  private readonly maxIncoming: number;
  private readonly incoming: number[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private pongTimer: NodeJS.Timeout | null = null;

  constructor(ws: WebSocket, hub: Hub, target: StreamPath, timings: ConnectionTimings) {
    this.ws = ws;
    this.hub = hub;
    this.combined = target.combined;
    this.route = target.route;
    this.micros = target.micros;
    this.maxIncoming = timings.maxIncomingPerSecond;
    for (const s of target.streams) this.streams.add(s);
    hub.add(this);
    ws.on('message', (data, isBinary) => this.onMessage(isBinary ? '' : String(data)));
    ws.on('ping', () => this.countIncoming());
    ws.on('pong', () => this.onPong());
    ws.on('close', () => this.dispose());
    ws.on('error', () => this.dispose());
    this.timers.push(setInterval(() => this.ping(timings.pongTimeoutMs), timings.pingIntervalMs));
    this.timers.push(setTimeout(() => this.close(1000, 'connection lifetime reached'), timings.lifetimeMs));
  }

  carries(stream: string): boolean {
    return this.route === null || usdmRouteOf(stream) === this.route;
  }

  send(text: string): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    if (this.ws.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.terminate();
      return false;
    }
    this.ws.send(this.micros ? inMicroseconds(text) : text);
    return true;
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  terminate(): void {
    this.ws.terminate();
    this.dispose();
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
    this.dispose();
  }

  private onMessage(text: string): void {
    if (!this.countIncoming()) return;
    const outcome = handleRequest(text, this);
    if (outcome.subscribe) this.hub.subscribe(this, outcome.subscribe);
    if (outcome.unsubscribe) this.hub.unsubscribe(this, outcome.unsubscribe);
    if (outcome.combined !== undefined) this.combined = outcome.combined;
    this.send(outcome.reply);
  }

  private onPong(): void {
    if (this.pongTimer !== null) {
      clearTimeout(this.pongTimer);
      this.pongTimer = null;
      return;
    }
    // Only unsolicited pongs count: answers to our own pings are what we asked for.
    this.countIncoming();
  }

  /** Counts an incoming message; closes the connection and returns false above the limit. */
  private countIncoming(): boolean {
    const now = Date.now();
    this.incoming.push(now);
    while ((this.incoming[0] ?? now) <= now - 1_000) this.incoming.shift();
    if (this.incoming.length <= this.maxIncoming) return true;
    this.close(1008, 'too many messages');
    return false;
  }

  private ping(pongTimeoutMs: number): void {
    if (this.ws.readyState !== this.ws.OPEN) return;
    this.ws.ping(String(Date.now()));
    this.pongTimer ??= setTimeout(() => this.terminate(), pongTimeoutMs);
  }

  private dispose(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.length = 0;
    if (this.pongTimer !== null) clearTimeout(this.pongTimer);
    this.pongTimer = null;
    this.hub.remove(this);
  }
}
