import type { Config } from '../../config/schema.js';
import type { MarketEvent, PipelineEvent } from '../../core/events.js';
import { ErrorCodes, TickflowError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import type { Emit, Source, SourceStatus } from '../source.js';
import { AttemptLimiter } from './attempt-limiter.js';
import { BinanceConnection, type DownReason } from './connection.js';
import { type FrameContext, FrameHandler, frameRulesFor } from './frame-handler.js';
import type { GapReason, StoredSequence } from './gaps.js';
import type { ControlMessage } from './parse.js';
import { streamUrl, subscribedStreams, wsBaseUrlFor } from './streams.js';

/**
 * The live Binance source. Streams are spread over connections of at most
 * `maxStreamsPerConnection` streams ("slots"); USD-M streams are split by routed path first
 * (`/public`, `/market`, see streams.ts). Each slot has one active connection; before Binance's
 * 24-hour cut (at `rotateAfterMs`) or on a `serverShutdown` event a replacement is opened first, takes
 * over once it delivers, and the old one is closed `rotationOverlapMs` later. Records seen on both
 * during the overlap are dropped once: trade/aggTrade by id (the gap detector), bookTicker, depth and
 * kline by their update key.
 */

export interface BinanceSourceDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * What a BinanceSource is told besides its config: the URL to use, its label, whether it talks to the
 * simulator, where to resume.
 */
export interface BinanceSourceOptions {
  /** Overrides `config.wsBaseUrl`, e.g. the simulator's URL. */
  readonly wsBaseUrl?: string;
  /** Prefix of connection ids (`binance-0`); `binance-usdm` when several markets run side by side. */
  readonly label?: string;
  /** The peer is tickflow's own exchange simulator (`--source sim`), not Binance. */
  readonly simulated?: boolean;
  /** The last trade/aggTrade ids stored before this process started (a restart is a gap, not a fresh start). */
  readonly resumeFrom?: readonly StoredSequence[];
}

/**
 * The log line for a first connection that never opened: the URL that was tried and, when that was
 * Binance itself, how to go on without it. Hosts other than Binance's (a simulator, a proxy) get no
 * such advice: the simulator is already what they are, or the address is the user's own choice.
 */
export function unreachableMessage(url: string, simulated: boolean): string {
  if (simulated) return `cannot reach the exchange simulator at ${url}`;
  const host = new URL(url).hostname;
  const binance = /(^|\.)(binance\.com|binance\.vision|binancefuture\.com)$/.test(host);
  return binance
    ? `cannot reach Binance at ${url}; to run without it, use the built-in exchange simulator: npm start -- --source sim`
    : `cannot reach the exchange at ${url}`;
}

const ORIGIN = 'binance-ws';
/** Pause reading from the sockets when this many records wait for the sink; resume below LOW_WATER. */
const HIGH_WATER = 50_000;
const LOW_WATER = 5_000;

type Role = 'active' | 'replacement' | 'retiring';

interface Link {
  readonly conn: BinanceConnection;
  role: Role;
  /** Label for a hole opened by the first record of a stream after this link (re)opened. */
  openReason: GapReason;
  /** Streams that have not delivered since the link last opened. */
  fresh: Set<string>;
  rotateTimer: NodeJS.Timeout | null;
  /** How the frame handler asks about this link (gap labels, overlap duplicates, control messages). */
  context: FrameContext;
}

interface Slot {
  readonly label: string;
  readonly streams: readonly string[];
  readonly url: string;
  links: Link[];
  active: Link | null;
  replacement: Link | null;
  rotations: number;
  /** Until when (epoch ms) records are checked against the overlap keys; Infinity while two links are up. */
  dedupeUntil: number;
}

/** A kline's [openTime, lastTradeId, closed], compared lexicographically. */
type OverlapKey = readonly [number, number, number];

/**
 * The Source of live Binance data (see above for slots, rotation and the overlap): `start(emit)` opens
 * the connections to `options.wsBaseUrl` (else config.wsBaseUrl, by market) for the streams of
 * `config` and hands `emit` batches of PipelineEvents — MarketEvents as parseFrame maps them (times
 * epoch ms, decimals as Binance's strings), GapEvents for holes in trade/aggTrade ids (reported after
 * config.gapGraceMs; `restart` against `options.resumeFrom`), dead letters with a reason for frames
 * that do not parse or validate. Binance "WebSocket Streams" (spot) and "Websocket Market Streams"
 * (USD-M): combined streams, at most source.maxStreamsPerConnection a connection (Binance allows 1024
 * on spot, 200 on USD-M, which streams.ts caps), the 24-hour cut, serverShutdown. A slow
 * `emit` pauses the sockets (50,000 records waiting; resumed below 5,000); a batch `emit` rejects is
 * logged and lost. Connection failures are retried forever and shown in `status()`, never thrown;
 * `start` twice throws TF_SOURCE_PROTOCOL.
 */
export class BinanceSource implements Source {
  readonly finished: Promise<void> = new Promise<void>(() => {});
  private readonly log: Logger;
  private readonly baseUrl: string;
  private readonly simulated: boolean;
  private readonly label: string;
  private readonly frames: FrameHandler;
  private readonly limiter = new AttemptLimiter();
  private readonly slots: Slot[] = [];
  private readonly overlapKeys = new Map<string, OverlapKey>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private emit: Emit | null = null;
  private pending: PipelineEvent[] = [];
  private flushing: Promise<void> | null = null;
  private paused = false;
  private stopping = false;
  private everConnected = false;
  private gapTimer: NodeJS.Timeout | null = null;

  constructor(
    private readonly config: Config['source'],
    private readonly deps: BinanceSourceDeps,
    options: BinanceSourceOptions = {},
  ) {
    this.log = deps.logger.child({ component: 'binance-source' });
    this.baseUrl = options.wsBaseUrl ?? wsBaseUrlFor(config.market, config.wsBaseUrl);
    this.simulated = options.simulated ?? false;
    this.label = options.label ?? 'binance';
    this.frames = new FrameHandler({
      ...frameRulesFor(config),
      origin: ORIGIN,
      gapGraceMs: config.gapGraceMs,
      resumeFrom: options.resumeFrom,
      logger: this.log,
      metrics: deps.metrics,
    });
  }

  async start(emit: Emit): Promise<void> {
    if (this.emit !== null) throw new TickflowError(ErrorCodes.SOURCE_PROTOCOL, 'BinanceSource.start() called twice');
    this.emit = emit;
    const groups = subscribedStreams(this.config);
    groups.forEach((group, i) => {
      const slot: Slot = {
        label: `${this.label}-${i}`,
        streams: group.streams,
        url: streamUrl(this.baseUrl, group.streams, group.route, this.config.timeUnit),
        links: [],
        active: null,
        replacement: null,
        rotations: 0,
        dedupeUntil: 0,
      };
      this.slots.push(slot);
      slot.active = this.openLink(slot, 'active');
    });
    this.gapTimer = setInterval(() => this.reportGaps(), Math.min(this.config.gapGraceMs, 250));
    this.log.info(
      { url: this.baseUrl, market: this.config.market, connections: groups.length, streams: groups.reduce((n, g) => n + g.streams.length, 0) },
      'binance source starting',
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    if (this.gapTimer) clearInterval(this.gapTimer);
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const closing: Promise<void>[] = [];
    for (const slot of this.slots) {
      for (const link of slot.links) {
        if (link.rotateTimer) clearTimeout(link.rotateTimer);
        closing.push(link.conn.close());
      }
      this.deps.metrics.connectionState.set({ connection: slot.label }, 0);
    }
    await Promise.all(closing);
    this.frames.flushCounts();
    while (this.flushing) await this.flushing;
  }

  status(): SourceStatus {
    return {
      // The dashboard, /api/pipeline and /health name what is really on the other end.
      kind: this.simulated ? 'sim' : 'binance',
      connections: this.slots.flatMap((s) => s.links.map((l) => l.conn.status())),
      lastMessageAt: this.frames.lastMessageAt(),
      finished: false,
    };
  }

  ready(): boolean {
    return this.slots.some((s) => s.links.some((l) => l.conn.isOpen));
  }

  private openLink(slot: Slot, role: Role): Link {
    const id = role === 'active' && slot.rotations === 0 ? slot.label : `${slot.label}.${slot.rotations}`;
    let link: Link | null = null;
    const conn = new BinanceConnection(
      {
        id,
        url: slot.url,
        streams: slot.streams.length,
        stallTimeoutMs: this.config.stallTimeoutMs,
        backoff: this.config.backoff,
        limiter: this.limiter,
        logger: this.log,
      },
      {
        onOpen: (reopened) => this.onOpen(slot, link!, reopened),
        onMessage: (raw, at) => this.onFrame(slot, link!, raw, at),
        onDown: (reason, detail, everOpened) => this.onDown(slot, link!, reason, detail, everOpened),
      },
    );
    const context: FrameContext = {
      gapReason: (stream) => this.gapReason(link!, stream),
      accept: (event, stream, nowMs) => this.overlapAccept(slot, event, stream, nowMs),
      onControl: (control) => this.onControl(slot, link!, control),
    };
    link = { conn, role, openReason: 'sequence', fresh: new Set(), rotateTimer: null, context };
    slot.links.push(link);
    conn.start();
    return link;
  }

  private onOpen(slot: Slot, link: Link, reopened: boolean): void {
    this.everConnected = true;
    link.openReason = reopened ? 'reconnect' : link.role === 'replacement' ? 'rotation' : 'sequence';
    link.fresh = new Set(slot.streams);
    if (link.rotateTimer) clearTimeout(link.rotateTimer);
    link.rotateTimer = setTimeout(() => {
      if (link.role === 'active') this.rotate(slot, 'rotation');
    }, this.config.rotateAfterMs);
    this.updateGauge(slot);
  }

  private onDown(slot: Slot, link: Link, reason: DownReason, detail: string, everOpened: boolean): void {
    if (link.rotateTimer) clearTimeout(link.rotateTimer);
    link.rotateTimer = null;
    this.updateGauge(slot);
    if (this.stopping) return;
    if (!everOpened && !this.everConnected) {
      // The message names the endpoint; the stream list (up to 1024 names) stays in the url field.
      this.log.error({ connection: link.conn.id, url: slot.url, detail }, unreachableMessage(slot.url.split('?')[0]!, this.simulated));
    }
    if (link.role === 'retiring') {
      this.retire(slot, link);
      return;
    }
    if (link.role === 'active' && slot.replacement?.conn.isOpen) {
      // The replacement is already up: hand over now instead of reconnecting the old socket.
      this.switchOver(slot);
      this.retire(slot, link);
      return;
    }
    this.deps.metrics.reconnects.inc({ reason });
  }

  /** Opens the replacement connection; the switch happens when it delivers its first frame. */
  private rotate(slot: Slot, reason: 'rotation' | 'server_shutdown'): void {
    if (this.stopping || slot.replacement !== null) return;
    slot.rotations++;
    slot.dedupeUntil = Number.POSITIVE_INFINITY;
    this.deps.metrics.reconnects.inc({ reason });
    this.log.info({ connection: slot.label, reason }, 'rotating connection: opening the replacement first');
    slot.replacement = this.openLink(slot, 'replacement');
  }

  private switchOver(slot: Slot): void {
    const old = slot.active;
    const next = slot.replacement;
    if (next === null) return;
    next.role = 'active';
    slot.active = next;
    slot.replacement = null;
    if (old === null) return;
    old.role = 'retiring';
    if (old.rotateTimer) clearTimeout(old.rotateTimer);
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      this.retire(slot, old);
    }, this.config.rotationOverlapMs);
    this.timers.add(timer);
    this.log.info({ connection: slot.label, next: next.conn.id, old: old.conn.id }, 'replacement delivering; switched over');
  }

  private retire(slot: Slot, link: Link): void {
    void link.conn.close().then(() => {
      slot.links = slot.links.filter((l) => l !== link);
      if (slot.replacement === null) slot.dedupeUntil = Date.now() + this.config.rotationOverlapMs;
      this.updateGauge(slot);
    });
  }

  private onFrame(slot: Slot, link: Link, raw: string, receivedAt: number): void {
    if (link.role === 'replacement') this.switchOver(slot);
    this.frames.handle(raw, receivedAt, link.context, this.pending);
    this.scheduleDrain();
  }

  private onControl(slot: Slot, link: Link, control: ControlMessage): void {
    if (control.kind !== 'serverShutdown') return;
    this.log.warn({ connection: link.conn.id }, 'serverShutdown received');
    if (link.role === 'active') this.rotate(slot, 'server_shutdown');
  }

  /**
   * Klines (trade, aggTrade, bookTicker and depth ids are the frame handler's). Outside a rotation
   * every kline passes: it repeats unchanged when nothing traded. During the overlap a kline whose
   * key [openTime, lastTradeId, closed] is not above the last one forwarded for its stream was
   * already sent by the other connection.
   */
  private overlapAccept(slot: Slot, event: MarketEvent, stream: string, nowMs: number): boolean {
    if (event.type !== 'kline') return true;
    const key: OverlapKey = [event.openTime, event.lastTradeId, event.closed ? 1 : 0];
    const last = this.overlapKeys.get(stream);
    if (nowMs < slot.dedupeUntil && last !== undefined) {
      const newer = key[0] !== last[0] ? key[0] > last[0] : key[1] !== last[1] ? key[1] > last[1] : key[2] > last[2];
      if (!newer) return false;
    }
    this.overlapKeys.set(stream, key);
    return true;
  }

  private gapReason(link: Link, stream: string): GapReason {
    return link.fresh.size > 0 && link.fresh.delete(stream) ? link.openReason : 'sequence';
  }

  private reportGaps(): void {
    this.frames.dueGaps(Date.now(), this.pending);
    this.scheduleDrain();
  }

  private scheduleDrain(): void {
    if (this.pending.length === 0) return;
    if (!this.paused && this.pending.length >= HIGH_WATER) this.setPaused(true);
    if (this.flushing === null) this.flushing = this.drain();
  }

  /** Hands pending records to the sink one batch at a time; a slow sink is back-pressure. */
  private async drain(): Promise<void> {
    // Let the frames of one socket read pile up into one batch.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.pending.length > 0 && this.emit !== null) {
      const batch = this.pending;
      this.pending = [];
      try {
        await this.emit(batch);
      } catch (err) {
        this.log.error({ err: errorMessage(err), records: batch.length }, 'sink rejected a batch; records lost');
      }
      if (this.paused && this.pending.length < LOW_WATER) this.setPaused(false);
    }
    this.flushing = null;
  }

  private setPaused(paused: boolean): void {
    this.paused = paused;
    this.log.info({ pending: this.pending.length }, paused ? 'sink is slow: pausing sockets' : 'sink caught up: resuming sockets');
    for (const slot of this.slots) for (const link of slot.links) paused ? link.conn.pause() : link.conn.resume();
  }

  private updateGauge(slot: Slot): void {
    this.deps.metrics.connectionState.set({ connection: slot.label }, slot.links.some((l) => l.conn.isOpen) ? 1 : 0);
  }
}
