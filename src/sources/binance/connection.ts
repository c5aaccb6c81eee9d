import { WebSocket } from 'ws';
import { epochMicros, monotonicMs } from '../../core/clock.js';
import { errorMessage } from '../../core/errors.js';
import type { Logger } from '../../ops/logger.js';
import type { ConnectionState, ConnectionStatus } from '../source.js';
import { Backoff } from '../../core/backoff.js';
import type { AttemptLimiter } from './attempt-limiter.js';

/**
 * One WebSocket connection to a Binance combined stream, kept alive for as long as it is wanted.
 * It owns the liveness rules and the reconnects; it knows nothing about the payloads.
 *
 * Binance pings (spot every 20 s by its docs, every ~3 min as observed; USD-M every 3 min) and drops
 * a client that does not answer within 1 min (spot) or 10 min (USD-M) with a pong echoing the ping
 * payload; `ws` answers that way by itself (`autoPong`, kept on here explicitly). The client does
 * not depend on that cadence: every inbound frame — data, a server ping, or the pong to a probe —
 * proves the path alive. After a third of `stallTimeoutMs` without one, the client sends a probe
 * ping (RFC 6455 obliges the server to answer); a connection that stays silent for `stallTimeoutMs`
 * all the same is a dead path (half-open TCP, a server that stopped serving us) and is terminated
 * and reopened.
 *
 * Time in which the event loop was blocked is not silence: frames that arrived meanwhile are still
 * waiting in the socket, and the watchdog's timer can fire before they are read. A watchdog tick that
 * comes much later than scheduled therefore discounts the blocked time instead of judging the path.
 */
export type DownReason = 'closed' | 'error' | 'stall';

/**
 * One connection: its id (`binance-0`), URL, stream count, stall timeout and reconnect backoff (ms),
 * the shared attempt limiter, the logger.
 */
export interface ConnectionOptions {
  readonly id: string;
  readonly url: string;
  /** Number of streams on this connection, for status. */
  readonly streams: number;
  /** A connection from which no frame at all arrived for this long (ms) is dead. */
  readonly stallTimeoutMs: number;
  readonly backoff: { readonly initialMs: number; readonly maxMs: number; readonly healthyAfterMs: number };
  readonly limiter: AttemptLimiter;
  readonly logger: Logger;
}

/** What a BinanceConnection reports to its source. */
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

/** Timer lateness tolerated before a watchdog tick counts as a blocked loop (GC pauses, busy 2-core hosts). */
const BLOCKED_SLACK_MS = 100;

/**
 * One Binance stream connection (see above): `start()` connects to `options.url` and keeps it up —
 * reconnecting after a close, an error or a stall with `options.backoff` delays (ms; reset after
 * `healthyAfterMs` open), within the shared limit of 300 attempts per 5 minutes (Binance "WebSocket
 * Limits"). Text frames go to `handlers.onMessage` stamped in epoch µs; `onOpen`/`onDown` report state
 * changes. It never gives up and never throws: failures are logged, reported to onDown and visible in
 * `status()` (ConnectionStatus: state, reconnects, lastError; times epoch ms). `close()` ends it for good.
 */
export class BinanceConnection {
  private ws: WebSocket | null = null;
  private state: ConnectionState = 'connecting';
  private readonly backoff: Backoff;
  private opens = 0;
  private reconnects = 0;
  private connectedAt: number | null = null;
  private lastMessageAtMicros: number | null = null;
  private lastError: string | null = null;
  /** Monotonic ms of the last inbound frame (data, ping, pong), shifted by time the loop was blocked. */
  private lastHeardMono = 0;
  private lastProbeMono = 0;
  private lastTickMono = 0;
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
    this.heard();
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
      this.heard();
      this.handlers.onMessage(data.toString(), receivedAt);
    });
    ws.on('ping', () => this.heard());
    ws.on('pong', () => this.heard());
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
    this.heard();
    if (this.paused) ws.pause();
    // Only a connection that stayed up proves the trouble is over; a flapping one keeps backing off.
    this.healthyTimer = setTimeout(() => this.backoff.reset(), this.options.backoff.healthyAfterMs);
    const every = Math.max(10, Math.min(1_000, Math.floor(this.options.stallTimeoutMs / 4)));
    this.lastTickMono = monotonicMs();
    this.watchdog = setInterval(() => this.checkLiveness(ws, every), every);
    this.options.logger.info({ connection: this.id, url: this.options.url, reopened }, 'connection open');
    this.handlers.onOpen(reopened);
  }

  private heard(): void {
    this.lastHeardMono = monotonicMs();
  }

  private checkLiveness(ws: WebSocket, every: number): void {
    const now = monotonicMs();
    const late = now - this.lastTickMono - every;
    this.lastTickMono = now;
    // A tick this late means the loop was blocked: what the socket holds has not been read yet.
    if (late > every + BLOCKED_SLACK_MS) {
      this.lastHeardMono = Math.min(now, this.lastHeardMono + late);
      this.lastProbeMono = Math.min(now, this.lastProbeMono + late);
    }
    if (this.paused) return;
    const silent = now - this.lastHeardMono;
    if (silent > this.options.stallTimeoutMs) {
      this.kill(ws, 'stall', `nothing received for ${this.options.stallTimeoutMs} ms (no data, no ping, no pong)`);
    } else if (silent > this.options.stallTimeoutMs / 3 && now - this.lastProbeMono > this.options.stallTimeoutMs / 3) {
      this.lastProbeMono = now;
      ws.ping();
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
