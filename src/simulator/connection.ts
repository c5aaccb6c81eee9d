import type { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { type UsdmRoute, usdmRouteOf } from '../sources/binance/streams.js';
import type { Hub, Subscriber } from './hub.js';
import { encodeTextFrames } from './frames.js';
import { handleRequest, inMicroseconds } from './protocol.js';
import type { StreamPath } from './ws-server.js';

/**
 * Binance's connection rules the simulator enforces (ms, frames per second, bytes): pings and pong
 * timeout, the lifetime cut, the incoming message limit, the slow-consumer cut.
 */
export interface ConnectionRules {
  readonly pingIntervalMs: number;
  readonly pongTimeoutMs: number;
  readonly lifetimeMs: number;
  /** Incoming frames (pings, unsolicited pongs, JSON requests) per second before the cut. */
  readonly maxIncomingPerSecond: number;
  /**
   * Bytes queued towards a client before it is cut as a slow consumer (Binance drops clients that
   * do not keep up instead of buffering for them): bounds the simulator's memory per connection.
   */
  readonly maxBufferedBytes: number;
  /** Epoch ms the incoming-message rate is counted by (SimulatorOptions.clock); default Date.now. */
  readonly clock?: () => number;
}

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
  /** The upgraded socket under `ws`: data frames are written here, a tick's worth at once. */
  private readonly socket: Duplex;
  private readonly hub: Hub;
  private readonly route: UsdmRoute | null;
  /** The client opened the stream with `timeUnit=MICROSECOND`. */
  private readonly micros: boolean;
  private readonly maxIncoming: number;
  private readonly clock: () => number;
  private readonly incoming: number[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private pongTimer: NodeJS.Timeout | null = null;
  private readonly maxBuffered: number;
  /** Data frames sent since the last flush; written together once the current tick is done. */
  private pending: string[] = [];
  /** Run once the pending frames are written (Hub records them as emitted then). */
  private written: (() => void)[] = [];
  private readonly flushSoon = () => this.flush();

  constructor(ws: WebSocket, socket: Duplex, hub: Hub, target: StreamPath, timings: ConnectionRules) {
    this.ws = ws;
    this.socket = socket;
    this.hub = hub;
    this.maxBuffered = timings.maxBufferedBytes;
    this.combined = target.combined;
    this.route = target.route;
    this.micros = target.micros;
    this.maxIncoming = timings.maxIncomingPerSecond;
    this.clock = timings.clock ?? Date.now;
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

  /** Queues a data frame; the frames of one tick leave in one socket write (see frames.ts). */
  send(text: string, onWritten?: () => void): boolean {
    if (this.ws.readyState !== this.ws.OPEN) return false;
    this.pending.push(this.micros ? inMicroseconds(text) : text);
    if (onWritten !== undefined) this.written.push(onWritten);
    if (this.pending.length === 1) setImmediate(this.flushSoon);
    return true;
  }

  /** Writes the queued frames, or cuts the client when it is more than maxBufferedBytes behind. */
  flush(): void {
    const frames = this.pending;
    const written = this.written;
    if (frames.length === 0) return;
    this.pending = [];
    this.written = [];
    if (this.ws.readyState !== this.ws.OPEN) return;
    const queued = this.buffered();
    if (queued > this.maxBuffered) {
      this.hub.slowConsumer(this, queued);
      this.terminate();
      return;
    }
    this.socket.write(encodeTextFrames(frames));
    for (const done of written) done();
  }

  buffered(): number {
    return this.ws.bufferedAmount;
  }

  /** Where the client connects from, for logs. */
  peer(): string {
    const s = this.socket as Duplex & { remoteAddress?: string; remotePort?: number };
    return `${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}`;
  }

  terminate(): void {
    this.pending = [];
    this.written = [];
    this.ws.terminate();
    this.dispose();
  }

  close(code: number, reason: string): void {
    // Frames queued before the close still go out, ahead of the close frame.
    this.flush();
    this.ws.close(code, reason);
    this.dispose();
  }

  private onMessage(text: string): void {
    if (!this.countIncoming()) return;
    const outcome = handleRequest(text, this);
    if (outcome.subscribe) this.hub.subscribe(this, outcome.subscribe);
    if (outcome.unsubscribe) this.hub.unsubscribe(this, outcome.unsubscribe);
    if (outcome.combined !== undefined) this.combined = outcome.combined;
    // In order: the data frames queued before the request, then the reply.
    this.flush();
    if (this.ws.readyState === this.ws.OPEN) this.ws.send(outcome.reply);
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
    const now = this.clock();
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
