import type { Config } from '../../config/schema.js';
import type { DeadLetterEvent, DepthSnapshotEvent, GapEvent, Market, MarketEvent, PipelineEvent, TimeUnit } from '../../core/events.js';
import { exchangeTime } from '../../core/events.js';
import { pushWithPayload } from '../../core/payloads.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { GapDetector, type GapReason, type StoredSequence } from './gaps.js';
import { type ControlMessage, type DepthSnapshotLine, FieldError, parseFrame } from './parse.js';
import { type DepthSnapshot, depthSnapshotFromRest } from './rest-parse.js';
import { DepthSequences, RecentUpdateIds } from './update-ids.js';
import { type PayloadRules, payloadProblem } from './validate.js';

/**
 * How the frame handler maps, checks and sequences frames: market, dead-letter origin, gap grace (ms),
 * resume points, time unit, payload rules, logger, metrics.
 */
export interface FrameHandlerOptions {
  readonly market: Market;
  /** Dead-letter origin, e.g. `binance-ws` or `replay`. */
  readonly origin: string;
  readonly gapGraceMs: number;
  /** Last ids stored before this process started: gap detection continues from them (GapDetector.resume). */
  readonly resumeFrom?: readonly StoredSequence[];
  /** The unit of exchange times in the frames (`source.timeUnit`). */
  readonly timeUnit: TimeUnit;
  /** Configured symbols and the accepted clock skew (validate.ts). */
  readonly rules: PayloadRules;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /**
   * Observe tickflow_ingest_latency_seconds (default true). A replay says false: its receive times
   * are the recorder's clock, which can run behind exchange time, so the difference is no latency.
   */
  readonly measureLatency?: boolean;
}

/** What a source's configuration asks of the frame handling: market, time unit, symbols, clock skew. */
export function frameRulesFor(config: Config['source']): Pick<FrameHandlerOptions, 'market' | 'timeUnit' | 'rules'> {
  return {
    market: config.market,
    timeUnit: config.timeUnit,
    rules: { symbols: new Set(config.symbols), maxClockSkewMs: config.maxClockSkewMs },
  };
}

/** A REST snapshot line before any diff-depth frame: nothing tells which symbol it is for. */
const SNAPSHOT_WITHOUT_SYMBOL = 'snapshot_without_symbol';

/** What the caller knows about the connection a frame came on (the live feed); null for a recording. */
export interface FrameContext {
  /** Label for a hole opened by this frame (`reconnect`/`rotation` for a stream's first frame on a new link). */
  gapReason(stream: string): GapReason;
  /** False for a record already delivered by another connection (rotation overlap). */
  accept(event: MarketEvent, stream: string, nowMs: number): boolean;
  onControl(control: ControlMessage): void;
}

/**
 * One raw frame → records, the same way for the live feed and a replayed recording: parse, check
 * the payload against its stream and the configuration, send what cannot be used to the dead
 * letters (with the raw frame and the reason), drop ids already seen (trade/aggTrade by the gap
 * detector, bookTicker/depth by update id), report id and depth-sequence gaps, count what arrived.
 */
export class FrameHandler {
  private readonly gaps: GapDetector;
  private readonly updateIds = new RecentUpdateIds();
  private readonly depthSequences: DepthSequences;
  /** The symbol of the last diff-depth frame: a REST snapshot line in a recording belongs to it. */
  private lastDepthSymbol: string | null = null;
  private readonly lastByStream = new Map<string, number>();
  /** Per symbol and type: the tickflow_messages_received_total series and what it has not been told yet (flushCounts). */
  private readonly received = new Map<string, Map<string, { readonly counter: { inc(n: number): void }; pending: number }>>();
  private readonly latency = new Map<string, { observe(v: number): void }>();
  private readonly totals = { events: 0, deadLetters: 0, duplicates: 0, gaps: 0 };

  constructor(private readonly options: FrameHandlerOptions) {
    this.gaps = new GapDetector({ market: options.market, graceMs: options.gapGraceMs });
    for (const stored of options.resumeFrom ?? []) this.gaps.resume(stored);
    this.depthSequences = new DepthSequences(options.market);
  }

  /** Appends the records `raw` yields to `out`. `receivedMicros` is the ingestion time (epoch µs). */
  handle(raw: string, receivedMicros: number, context: FrameContext | null, out: PipelineEvent[]): void {
    const result = parseFrame(raw, this.options.market, receivedMicros, this.options.timeUnit);
    if (result.ok === false) {
      out.push(this.deadLetter(raw, receivedMicros, result.reason, result.detail));
      return;
    }
    const nowMs = Math.floor(receivedMicros / 1000);
    if (result.stream !== null) this.lastByStream.set(result.stream, nowMs);
    if (result.ok === 'control') {
      const control = result.control;
      if (control.kind === 'depthSnapshot') this.snapshot(control, raw, receivedMicros, out);
      else context?.onControl(control);
      return;
    }
    this.record(result.event, result.stream, raw, receivedMicros, context, out, result.payload);
  }

  /**
   * Appends the gaps whose grace period has passed at `nowMs`. The sources call this at least every
   * 250 ms, so it also hands the received counts to the metrics (flushCounts).
   */
  dueGaps(nowMs: number, out: PipelineEvent[]): void {
    this.flushCounts();
    for (const gap of this.gaps.due(nowMs)) this.reportGap(gap, out);
  }

  /**
   * Adds the frames counted since the last call to tickflow_messages_received_total. A prom-client
   * inc() hashes its labels each time, which cost 5 % of the ingest role's CPU when done per frame.
   */
  flushCounts(): void {
    for (const bySymbol of this.received.values()) {
      for (const entry of bySymbol.values()) {
        if (entry.pending === 0) continue;
        entry.counter.inc(entry.pending);
        entry.pending = 0;
      }
    }
  }

  /**
   * Appends a dead letter for input that never became a frame (e.g. a recording line without a
   * receive time). `receivedMicros`: the best known receive time, epoch µs.
   */
  reject(raw: string, receivedMicros: number, reason: string, detail: string, out: PipelineEvent[]): void {
    out.push(this.deadLetter(raw, receivedMicros, reason, detail));
  }

  lastMessageAt(): Record<string, number> {
    return Object.fromEntries(this.lastByStream);
  }

  counts(): Readonly<typeof this.totals> {
    return { ...this.totals };
  }

  /** `payload`: the exchange's text of the event's payload, forwarded with it (core/payloads.ts); null when there is none. */
  private record(
    event: MarketEvent,
    stream: string | null,
    raw: string,
    receivedMicros: number,
    context: FrameContext | null,
    out: PipelineEvent[],
    payload: string | null,
  ): void {
    const nowMs = Math.floor(receivedMicros / 1000);
    const problem = payloadProblem(event, stream, nowMs, this.options.rules);
    if (problem !== null) {
      out.push(this.deadLetter(raw, receivedMicros, problem.reason, `${stream ?? 'depth snapshot'}: ${problem.detail}`));
      return;
    }
    const reason = context && stream !== null ? context.gapReason(stream) : 'sequence';
    if (!this.accept(event, stream, nowMs, reason, context)) {
      this.totals.duplicates++;
      this.options.metrics.duplicatesDropped.inc({ stream: event.type });
      return;
    }
    if (event.type === 'depth') {
      this.lastDepthSymbol = event.symbol;
      const gap = this.depthSequences.observe(event, nowMs, reason);
      if (gap !== null) this.reportGap(gap, out);
    }
    this.countReceived(event, receivedMicros);
    if (payload === null) out.push(event);
    else pushWithPayload(out, event, { text: payload, timeUnit: this.options.timeUnit });
  }

  private accept(event: MarketEvent, stream: string | null, nowMs: number, reason: GapReason, context: FrameContext | null): boolean {
    switch (event.type) {
      case 'trade':
        return this.gaps.observe(event.symbol, 'trade', event.tradeId, nowMs, reason) === 'accept';
      case 'aggTrade':
        return this.gaps.observe(event.symbol, 'aggTrade', event.aggTradeId, nowMs, reason) === 'accept';
      case 'bookTicker':
        return this.updateIds.accept(event.symbol, 'bookTicker', event.updateId);
      case 'depth':
        return this.updateIds.accept(event.symbol, 'depth', event.finalUpdateId);
      case 'kline':
        return context && stream !== null ? context.accept(event, stream, nowMs) : true;
      case 'depthSnapshot':
        return true;
    }
  }

  /** A REST snapshot line of a recording, attributed to the diff-depth stream read before it. */
  private snapshot(line: DepthSnapshotLine, raw: string, receivedMicros: number, out: PipelineEvent[]): void {
    let snapshot: DepthSnapshot;
    try {
      snapshot = depthSnapshotFromRest(line.body);
    } catch (err) {
      if (!(err instanceof FieldError)) throw err;
      out.push(this.deadLetter(raw, receivedMicros, err.reason, `depth snapshot: ${err.message}`));
      return;
    }
    if (this.lastDepthSymbol === null) {
      out.push(this.deadLetter(raw, receivedMicros, SNAPSHOT_WITHOUT_SYMBOL, 'a depth snapshot line before any diff-depth frame: its symbol is unknown'));
      return;
    }
    const event: { -readonly [K in keyof DepthSnapshotEvent]: DepthSnapshotEvent[K] } = {
      type: 'depthSnapshot',
      exchange: 'binance',
      market: this.options.market,
      symbol: this.lastDepthSymbol,
      eventTime: snapshot.eventTime ?? Math.floor(receivedMicros / 1000),
      ingestionTimestamp: receivedMicros,
      lastUpdateId: snapshot.lastUpdateId,
      bids: snapshot.bids,
      asks: snapshot.asks,
    };
    if (snapshot.transactionTime !== undefined) event.transactionTime = snapshot.transactionTime;
    this.record(event, null, raw, receivedMicros, null, out, null);
  }

  /** Counts, logs and appends one gap (trade/aggTrade ids after the grace period, depth at once). */
  private reportGap(gap: GapEvent, out: PipelineEvent[]): void {
    const missing = gap.lastMissingId - gap.firstMissingId + 1;
    this.totals.gaps++;
    this.options.metrics.gaps.inc({ exchange: gap.exchange, market: gap.market, symbol: gap.symbol, stream: gap.stream });
    this.options.metrics.missingIds.inc({ exchange: gap.exchange, market: gap.market, symbol: gap.symbol, stream: gap.stream }, missing);
    this.options.logger.warn(
      { symbol: gap.symbol, stream: gap.stream, first: gap.firstMissingId, last: gap.lastMissingId, missing, reason: gap.reason },
      gap.stream === 'depth' ? 'diff-depth sequence break' : 'gap in id sequence',
    );
    out.push(gap);
  }

  private countReceived(event: MarketEvent, receivedMicros: number): void {
    this.totals.events++;
    let bySymbol = this.received.get(event.symbol);
    if (bySymbol === undefined) {
      bySymbol = new Map();
      this.received.set(event.symbol, bySymbol);
    }
    let entry = bySymbol.get(event.type);
    if (entry === undefined) {
      entry = { counter: this.options.metrics.messagesReceived.labels(event.exchange, event.market, event.symbol, event.type), pending: 0 };
      bySymbol.set(event.type, entry);
    }
    entry.pending++;
    // Spot bookTicker has no exchange time (its eventTime is the ingestion time), a snapshot is a REST answer: nothing to measure.
    if (this.options.measureLatency === false) return;
    if ((event.type === 'bookTicker' && event.transactionTime === undefined) || event.type === 'depthSnapshot') return;
    let histogram = this.latency.get(event.type);
    if (histogram === undefined) {
      histogram = this.options.metrics.ingestLatency.labels(event.type);
      this.latency.set(event.type, histogram);
    }
    histogram.observe((receivedMicros / 1000 - exchangeTime(event)) / 1000);
  }

  private deadLetter(raw: string, receivedMicros: number, reason: string, detail: string): DeadLetterEvent {
    // The count so far tells identical frames of the same millisecond apart (each is its own row).
    const seq = this.totals.deadLetters++;
    this.options.metrics.deadLetters.inc({ origin: this.options.origin, reason });
    this.options.logger.warn({ reason, detail, raw: raw.slice(0, 200) }, 'dead letter: frame not usable');
    return { type: 'deadLetter', origin: this.options.origin, reason, detail, raw, receivedAt: Math.floor(receivedMicros / 1000), seq };
  }
}
