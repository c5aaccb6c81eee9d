import type { DeadLetterEvent, Market, MarketEvent, PipelineEvent } from '../../core/events.js';
import { exchangeTime } from '../../core/events.js';
import type { Logger } from '../../ops/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import { GapDetector, type GapReason, type StoredSequence } from './gaps.js';
import { type ControlMessage, parseFrame } from './parse.js';

export interface FrameHandlerOptions {
  readonly market: Market;
  /** Dead-letter origin, e.g. `binance-ws` or `replay`. */
  readonly origin: string;
  readonly gapGraceMs: number;
  /** Last ids stored before this process started: gap detection continues from them (GapDetector.resume). */
  readonly resumeFrom?: readonly StoredSequence[];
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What the caller knows about the connection a frame came on (the live feed); null for a recording. */
export interface FrameContext {
  /** Label for a hole opened by this frame (`reconnect`/`rotation` for a stream's first frame on a new link). */
  gapReason(stream: string): GapReason;
  /** False for a record already delivered by another connection (rotation overlap). */
  accept(event: MarketEvent, stream: string, nowMs: number): boolean;
  onControl(control: ControlMessage): void;
}

/**
 * One raw frame → records, the same way for the live feed and a replayed recording: parse, send
 * what cannot be understood to the dead letters (with the raw frame), drop ids already seen, feed
 * the gap detector, count what arrived.
 */
export class FrameHandler {
  private readonly gaps: GapDetector;
  private readonly lastByStream = new Map<string, number>();
  private readonly received = new Map<string, { inc(): void }>();
  private readonly latency = new Map<string, { observe(v: number): void }>();
  private readonly totals = { events: 0, deadLetters: 0, duplicates: 0, gaps: 0 };

  constructor(private readonly options: FrameHandlerOptions) {
    this.gaps = new GapDetector({ market: options.market, graceMs: options.gapGraceMs });
    for (const stored of options.resumeFrom ?? []) this.gaps.resume(stored);
  }

  /** Appends the records `raw` yields to `out`. `receivedMicros` is the ingestion time (epoch µs). */
  handle(raw: string, receivedMicros: number, context: FrameContext | null, out: PipelineEvent[]): void {
    const result = parseFrame(raw, this.options.market, receivedMicros);
    if (result.ok === false) {
      out.push(this.deadLetter(raw, receivedMicros, result.reason, result.detail));
      return;
    }
    const nowMs = Math.floor(receivedMicros / 1000);
    if (result.stream !== null) this.lastByStream.set(result.stream, nowMs);
    if (result.ok === 'control') {
      const control = result.control;
      if (control.kind === 'nonMarketTrade') {
        const reason = context && result.stream !== null ? context.gapReason(result.stream) : 'sequence';
        this.gaps.observe(control.symbol, 'trade', control.tradeId, nowMs, reason);
      }
      context?.onControl(control);
      return;
    }
    const event = result.event;
    if (!this.accept(event, result.stream, nowMs, context)) {
      this.totals.duplicates++;
      this.options.metrics.duplicatesDropped.inc({ stream: event.type });
      return;
    }
    this.countReceived(event, receivedMicros);
    out.push(event);
  }

  /** Appends the gaps whose grace period has passed at `nowMs`. */
  dueGaps(nowMs: number, out: PipelineEvent[]): void {
    for (const gap of this.gaps.due(nowMs)) {
      const missing = gap.lastMissingId - gap.firstMissingId + 1;
      this.totals.gaps++;
      this.options.metrics.gaps.inc({ symbol: gap.symbol, stream: gap.stream });
      this.options.metrics.missingIds.inc({ symbol: gap.symbol, stream: gap.stream }, missing);
      this.options.logger.warn(
        { symbol: gap.symbol, stream: gap.stream, first: gap.firstMissingId, last: gap.lastMissingId, missing, reason: gap.reason },
        'gap in id sequence',
      );
      out.push(gap);
    }
  }

  lastMessageAt(): Record<string, number> {
    return Object.fromEntries(this.lastByStream);
  }

  counts(): Readonly<typeof this.totals> {
    return { ...this.totals };
  }

  private accept(event: MarketEvent, stream: string, nowMs: number, context: FrameContext | null): boolean {
    const reason = context ? context.gapReason(stream) : 'sequence';
    switch (event.type) {
      case 'trade':
        return this.gaps.observe(event.symbol, 'trade', event.tradeId, nowMs, reason) === 'accept';
      case 'aggTrade':
        return this.gaps.observe(event.symbol, 'aggTrade', event.aggTradeId, nowMs, reason) === 'accept';
      default:
        return context ? context.accept(event, stream, nowMs) : true;
    }
  }

  private countReceived(event: MarketEvent, receivedMicros: number): void {
    this.totals.events++;
    const key = `${event.symbol}|${event.type}`;
    let counter = this.received.get(key);
    if (counter === undefined) {
      counter = this.options.metrics.messagesReceived.labels(event.symbol, event.type);
      this.received.set(key, counter);
    }
    counter.inc();
    // Spot bookTicker has no exchange time (its eventTime is the ingestion time): nothing to measure.
    if (event.type === 'bookTicker' && event.transactionTime === undefined) return;
    let histogram = this.latency.get(event.type);
    if (histogram === undefined) {
      histogram = this.options.metrics.ingestLatency.labels(event.type);
      this.latency.set(event.type, histogram);
    }
    histogram.observe((receivedMicros / 1000 - exchangeTime(event)) / 1000);
  }

  private deadLetter(raw: string, receivedMicros: number, reason: string, detail: string): DeadLetterEvent {
    this.totals.deadLetters++;
    this.options.metrics.deadLetters.inc({ origin: this.options.origin, reason });
    this.options.logger.warn({ reason, detail, raw: raw.slice(0, 200) }, 'dead letter: frame not understood');
    return { type: 'deadLetter', origin: this.options.origin, reason, detail, raw, receivedAt: Math.floor(receivedMicros / 1000) };
  }
}
