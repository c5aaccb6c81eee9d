import { WebSocket } from 'ws';
import { epochMicros, monotonicMs } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../ops/logger.js';
import type { ConnectionState, ConnectionStatus } from '../source.js';
import { AttemptLimiter, Backoff } from './backoff.js';

/**
 * One WebSocket connection to a Binance combined stream, kept alive for as long as it is wanted.
 * It owns the liveness rules and the reconnects; it knows nothing about the payloads.
 *
 * Binance pings every 20 s (USD-M: every 3 min) and drops a client that does not answer with a pong
 * echoing the ping payload; `ws` answers pings that way by itself (`autoPong`, on by default, kept on
 * here explicitly). A connection is treated as dead, terminated and reopened when no ping arrived
 * for `pingTimeoutMs` (the server gave up on us or the path is half-open) or no message at all
 * arrived for `stallTimeoutMs`.
 */

export type DownReason = 'closed' | 'error' | 'ping_timeout' | 'stall';

export interface ConnectionOptions {
  readonly id: string;
  readonly url: string;
  /** Number of streams on this connection, for status. */
  readonly streams: number;
  readonly stallTimeoutMs: number;
  readonly pingTimeoutMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly healthyAfterMs: number };
  readonly limiter: AttemptLimiter;
  readonly logger: Logger;
}

export interface ConnectionHandlers {
  /** `reopened`: this is not the first open of this connection (a reconnect). */
  onOpen(reopened: boolean): void;
  /** A text frame, stamped with epoch microseconds at receipt. */
  onMessage(raw: string, receivedAtMicros: number): void;
  /**
   * The socket went down and a reconnect will be scheduled unless the handler calls `close()`.
   * `everOpened` is false while no attempt of this connection has succeeded yet.
   */
  onDown(reason: DownReason, detail: string, everOpened: boolean): void;
}

export class BinanceConnection {
  private ws: WebSocket | null = null;
  private state: ConnectionState = 'connecting';
  private readonly backoff: Backoff;
  private opens = 0;
  private reconnects = 0;
  private connectedAt: number | null = null;
  private lastMessageAtMicros: number | null = null;
  private lastError: string | null = null;
  private lastMessageMono = 0;
  private lastPingMono = 0;
  private paused = false;
  private closing = false;
  private killReason: { reason: DownReason; detail: string } | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private healthyTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed: Promise<void> | null = null;

  constructor(
    private readonly options: ConnectionOptions,
    private readonly handlers: ConnectionHandlers,
  ) {
    this.backoff = new Backoff(options.backoff.initialMs, options.backoff.maxMs);
  }

  get id(): string {
    return this.options.id;
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  start(): void {
    this.attempt();
  }

  /** Stops reading (TCP back-pressure); liveness checks are suspended meanwhile. */
  pause(): void {
    this.paused = true;
    this.ws?.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    const now = monotonicMs();
    this.lastMessageMono = now;
    this.lastPingMono = now;
    this.ws?.resume();
  }

  /** Closes for good (no reconnect); resolves once the socket is closed. */
  close(): Promise<void> {
    if (this.closed) return this.closed;
    this.closing = true;
    this.clearTimers();
    const ws = this.ws;
    this.closed = new Promise<void>((resolve) => {
      if (ws === null || ws.readyState === WebSocket.CLOSED) {
        this.state = 'closed';
        resolve();
        return;
      }
      // A peer that never answers the close handshake must not hold up shutdown.
      const force = setTimeout(() => ws.terminate(), 1_000);
      ws.once('close', () => {
        clearTimeout(force);
        this.state = 'closed';
        resolve();
      });
      if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
      else ws.close(1000, 'client closing');
    });
    return this.closed;
  }

  status(): ConnectionStatus {
    return {
      id: this.options.id,
      state: this.state,
      streams: this.options.streams,
      connectedAt: this.connectedAt,
      reconnects: this.reconnects,
      lastMessageAt: this.lastMessageAtMicros === null ? null : Math.floor(this.lastMessageAtMicros / 1000),
      lastError: this.lastError,
    };
  }

  private attempt(): void {
    if (this.closing) return;
    const wait = this.options.limiter.take(monotonicMs());
    if (wait > 0) {
      this.options.logger.warn({ connection: this.id, waitMs: wait }, 'connection attempt limit reached (300 per 5 minutes); waiting');
      this.retryTimer = setTimeout(() => this.attempt(), wait);
      return;
    }
    const ws = new WebSocket(this.options.url, {
      autoPong: true,
      perMessageDeflate: false,
      handshakeTimeout: Math.min(this.options.stallTimeoutMs, 10_000),
    });
    this.ws = ws;
    ws.on('open', () => this.onOpen(ws));
    ws.on('message', (data, isBinary) => {
      const receivedAt = epochMicros();
      if (isBinary) return; // Binance streams are text; nothing else is expected here.
      this.lastMessageAtMicros = receivedAt;
      this.lastMessageMono = monotonicMs();
      this.handlers.onMessage(data.toString(), receivedAt);
    });
    ws.on('ping', () => {
      this.lastPingMono = monotonicMs();
    });
    ws.on('error', (err) => {
      this.lastError = errorMessage(err);
    });
    ws.on('close', (code, reason) => this.onClose(ws, code, reason.toString()));
  }

  private onOpen(ws: WebSocket): void {
    if (ws !== this.ws) return;
    const reopened = this.opens > 0;
    this.opens++;
    this.state = 'open';
    this.connectedAt = Date.now();
    const now = monotonicMs();
    this.lastMessageMono = now;
    this.lastPingMono = now;
    if (this.paused) ws.pause();
    // Only a connection that stayed up proves the trouble is over; a flapping one keeps backing off.
    this.healthyTimer = setTimeout(() => this.backoff.reset(), this.options.backoff.healthyAfterMs);
    const every = Math.max(10, Math.min(1_000, Math.floor(Math.min(this.options.stallTimeoutMs, this.options.pingTimeoutMs) / 4)));
    this.watchdog = setInterval(() => this.checkLiveness(ws), every);
    this.options.logger.info({ connection: this.id, url: this.options.url, reopened }, 'connection open');
    this.handlers.onOpen(reopened);
  }

  private checkLiveness(ws: WebSocket): void {
    if (this.paused) return;
    const now = monotonicMs();
    if (now - this.lastMessageMono > this.options.stallTimeoutMs) {
      this.kill(ws, 'stall', `no message for ${this.options.stallTimeoutMs} ms`);
    } else if (now - this.lastPingMono > this.options.pingTimeoutMs) {
      this.kill(ws, 'ping_timeout', `no ping from the server for ${this.options.pingTimeoutMs} ms`);
    }
  }

  private kill(ws: WebSocket, reason: DownReason, detail: string): void {
    this.killReason = { reason, detail };
    this.lastError = detail;
    ws.terminate();
  }

  private onClose(ws: WebSocket, code: number, reasonText: string): void {
    if (ws !== this.ws) return;
    const everOpened = this.opens > 0;
    this.clearTimers();
    if (this.closing) return;
    const down = this.killReason ?? {
      reason: this.state === 'open' && code !== 1006 ? ('closed' as const) : ('error' as const),
      detail: this.state === 'open' ? `closed by peer (code ${code}${reasonText ? `, ${reasonText}` : ''})` : (this.lastError ?? `closed (code ${code})`),
    };
    this.killReason = null;
    this.connectedAt = null;
    this.state = 'reconnecting';
    this.handlers.onDown(down.reason, down.detail, everOpened);
    if (this.closing) return;
    this.reconnects++;
    const delay = this.backoff.next();
    this.options.logger.warn(
      { connection: this.id, reason: down.reason, detail: down.detail, delayMs: delay, attempt: this.backoff.attempts },
      'connection down; reconnecting',
    );
    this.retryTimer = setTimeout(() => this.attempt(), delay);
  }

  private clearTimers(): void {
    if (this.watchdog) clearInterval(this.watchdog);
    if (this.healthyTimer) clearTimeout(this.healthyTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.watchdog = this.healthyTimer = this.retryTimer = null;
  }
}
