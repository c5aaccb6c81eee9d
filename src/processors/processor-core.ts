import { ErrorCodes, TickflowError } from '../core/errors.js';
import { type Instrument, isMarketTrade, type PipelineEvent } from '../core/events.js';
import { type CandleRow, candleKind, candleRow, candleStateFromRow, INTERVAL_MS, windowLabel } from './candles.js';
import {
  quoteInput,
  type QuoteInput,
  type SpreadMetricsRow,
  type SpreadOptions,
  type SpreadState,
  spreadKind,
  spreadRow,
  spreadStateFromRow,
} from './spread-metrics.js';
import { type TradeInput, tradeInput } from './trade-input.js';
import {
  type TradeMetricsOptions,
  type TradeMetricsRow,
  type TradeMetricsState,
  tradeMetricsKind,
  tradeMetricsRow,
  tradeMetricsStateFromRow,
} from './trade-metrics.js';
import { WhaleDetector, type WhaleRow } from './whales.js';
import { type Window, WindowEngine } from './window-engine.js';

/** The processor's configuration (config.processor). */
export interface ProcessorOptions {
  readonly candleIntervals: readonly string[];
  readonly allowedLatenessMs: number;
  readonly lateEvents: 'correct' | 'table';
  /** Which trade stream feeds candles and metrics; the other is ignored so nothing counts twice. */
  readonly tradeStream: 'trade' | 'aggTrade';
  readonly metricsWindowMs: number;
  readonly spreadWindowMs: number;
  readonly volatilityRatio: number;
  readonly volumeSpikeFactor: number;
  readonly volumeSpikeLookback: number;
  readonly priceMovePct: number;
  readonly spreadWarningFactor?: number | undefined;
  readonly spreadWarningBps: number;
  readonly whaleNotional: number;
  readonly whaleNotionalBySymbol: Readonly<Record<string, number>>;
  readonly smaLengths: readonly number[];
  readonly emaLengths: readonly number[];
  /** How long closed windows stay correctable by late events (and are reloaded after a restart). */
  readonly lateRetentionMs: number;
  /** Empty windows filled at most between two windows of a symbol (WindowEngineOptions). */
  readonly maxFillWindows: number;
}

/** An event that reached a window already final and was recorded instead of applied. */
export interface LateEventRow extends Instrument {
  /** `topic/partition` the event came from; with `offset`, its identity. */
  readonly source: string;
  readonly offset: bigint;
  /** The window kind it was late for, e.g. `candles:1m`. */
  readonly target: string;
  readonly eventTime: number;
  readonly watermark: number;
  /** `late` (lateEvents=table) or `beyond_retention` (too old to correct). */
  readonly reason: 'late' | 'beyond_retention';
  readonly event: PipelineEvent;
}

/** One row the processor writes, tagged by its table; written idempotently (ON CONFLICT) before offsets commit. */
export type Upsert =
  | { readonly table: 'candles'; readonly row: CandleRow }
  | { readonly table: 'trade_metrics'; readonly row: TradeMetricsRow }
  | { readonly table: 'spread_metrics'; readonly row: SpreadMetricsRow }
  | { readonly table: 'whale_trades'; readonly row: WhaleRow }
  | { readonly table: 'late_events'; readonly row: LateEventRow };

/** Final windows per symbol to reload after a restart, by table and interval label. */
export type Retention = Record<'candles' | 'trade_metrics' | 'spread_metrics', Record<string, number>>;

/** One bus delivery as the core takes it: where it came from, its offset, the event. */
export interface CoreInput {
  /** `topic/partition`: watermarks and committable offsets are tracked per source. */
  readonly source: string;
  readonly offset: bigint;
  readonly event: PipelineEvent;
}

/** What one batch of input produced: rows to write, instruments with late events, events skipped with a reason. */
export interface IngestResult {
  /** Final rows, late corrections, whales and late-event rows: durable before offsets commit. */
  readonly upserts: Upsert[];
  /** Instrument of every event that arrived behind its window's watermark. */
  readonly late: Instrument[];
  /** Events skipped because a field could not be used (e.g. a price that is not a decimal). */
  readonly rejected: { readonly source: string; readonly offset: bigint; readonly reason: string }[];
}

/** Final rows stored before a restart, reloaded so that the replay continues where it stopped. */
export interface RestoredRows {
  readonly candles: readonly CandleRow[];
  readonly tradeMetrics: readonly TradeMetricsRow[];
  readonly spreadMetrics: readonly SpreadMetricsRow[];
}

/** One window kind bound to its output table; `S` stays inside. */
interface Stage<E> {
  readonly engine: { readonly kind: { readonly name: string }; seen(instrument: Instrument, first: number, last: number): boolean };
  apply(input: CoreInput, instrument: Instrument, time: number, event: E, watermark: number, mode: ProcessorOptions['lateEvents'], out: IngestResult): boolean;
  advance(source: string, watermark: number, out: Upsert[]): void;
  /** Ids seen that fold into no window (see WindowEngine.observeIds); settles what they complete. */
  observeIds(instrument: Instrument, first: number, last: number, out: Upsert[]): void;
  finish(out: Upsert[]): void;
  dirty(out: Upsert[]): void;
  open(out: Upsert[]): void;
  minOpenOffset(source: string): bigint | undefined;
  openCount(): number;
  forget(source: string): void;
}

class BoundStage<E, S> implements Stage<E> {
  constructor(
    readonly engine: WindowEngine<E, S>,
    private readonly toUpsert: (window: Window<S>, history: readonly Window<S>[]) => Upsert,
  ) {}

  observeIds(instrument: Instrument, first: number, last: number, out: Upsert[]): void {
    this.engine.observeIds(instrument, first, last);
    const settled: Window<S>[] = [];
    this.engine.settle(instrument, settled);
    for (const w of settled) out.push(this.upsert(w));
  }

  apply(input: CoreInput, instrument: Instrument, time: number, event: E, watermark: number, mode: ProcessorOptions['lateEvents'], out: IngestResult): boolean {
    const result = this.engine.apply(input.source, input.offset, instrument, time, event, watermark);
    const settled: Window<S>[] = [];
    this.engine.settle(instrument, settled);
    for (const w of settled) out.upserts.push(this.upsert(w));
    if (result.kind !== 'late') return false;
    const corrected = mode === 'correct' ? this.engine.correct(input.source, input.offset, instrument, time, event, result.window) : undefined;
    if (corrected) {
      out.upserts.push(this.upsert(corrected));
    } else {
      out.upserts.push({
        table: 'late_events',
        row: {
          ...instrument,
          source: input.source,
          offset: input.offset,
          target: this.engine.kind.name,
          eventTime: time,
          watermark,
          reason: mode === 'correct' ? 'beyond_retention' : 'late',
          event: input.event,
        },
      });
    }
    return true;
  }

  advance(source: string, watermark: number, out: Upsert[]): void {
    const closed: Window<S>[] = [];
    this.engine.advance(source, watermark, closed);
    for (const w of closed) out.push(this.upsert(w));
  }

  finish(out: Upsert[]): void {
    const closed: Window<S>[] = [];
    this.engine.finish(closed);
    for (const w of closed) out.push(this.upsert(w));
  }

  dirty(out: Upsert[]): void {
    const windows: Window<S>[] = [];
    this.engine.takeDirty(windows);
    for (const w of windows) out.push(this.upsert(w));
  }

  open(out: Upsert[]): void {
    for (const w of this.engine.openWindows()) out.push(this.upsert(w));
  }

  minOpenOffset(source: string): bigint | undefined {
    return this.engine.minOpenOffset(source);
  }

  openCount(): number {
    return this.engine.openCount();
  }

  forget(source: string): void {
    this.engine.forget(source);
  }

  private upsert(w: Window<S>): Upsert {
    return this.toUpsert(w, this.engine.history(w.instrument, w.start));
  }
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The pure stream processor: pipeline events in, row upserts out. It owns the watermark of every
 * source (max event time seen − allowed lateness) and closes windows as it passes their end.
 */
export class ProcessorCore {
  private readonly tradeStages: Stage<TradeInput>[] = [];
  private readonly quoteStages: Stage<QuoteInput>[] = [];
  private readonly whales: WhaleDetector;
  private readonly maxTime = new Map<string, number>();
  private readonly lastOffset = new Map<string, bigint>();
  /** Window ends are multiples of every size; the watermark only matters when it crosses one of these steps. */
  private readonly step: number;
  private readonly metricsEngine: WindowEngine<TradeInput, TradeMetricsState>;
  private readonly spreadEngine: WindowEngine<QuoteInput, SpreadState>;
  /** Per candle interval: how to reload a stored row, and how many final candles per symbol it keeps. */
  private readonly candleRestore = new Map<string, { retain: number; restore: (row: CandleRow) => void }>();

  constructor(private readonly options: ProcessorOptions) {
    this.whales = new WhaleDetector(options);
    const retainFor = (sizeMs: number) => Math.max(2, Math.ceil(options.lateRetentionMs / sizeMs));
    const engineOptions = { maxFillWindows: options.maxFillWindows };
    let step = 0;
    for (const interval of options.candleIntervals) {
      const sizeMs = INTERVAL_MS[interval] ?? 0;
      const kind = candleKind({ interval, smaLengths: options.smaLengths, emaLengths: options.emaLengths, retain: retainFor(sizeMs) });
      const engine = new WindowEngine(kind, engineOptions);
      this.tradeStages.push(new BoundStage(engine, (w, h) => ({ table: 'candles', row: candleRow(w, h, kind.options) })));
      this.candleRestore.set(interval, {
        retain: kind.retain,
        restore: (row) => engine.restore(restoredWindow(row, candleStateFromRow(row), kind.sizeMs)),
      });
      step = gcd(step, kind.sizeMs);
    }
    const metricsOptions: TradeMetricsOptions = {
      windowMs: options.metricsWindowMs,
      volatilityRatio: options.volatilityRatio,
      volumeSpikeFactor: options.volumeSpikeFactor,
      volumeSpikeLookback: options.volumeSpikeLookback,
      priceMovePct: options.priceMovePct,
      retain: retainFor(options.metricsWindowMs),
    };
    this.metricsEngine = new WindowEngine(tradeMetricsKind(metricsOptions), engineOptions);
    this.tradeStages.push(new BoundStage(this.metricsEngine, (w, h) => ({ table: 'trade_metrics', row: tradeMetricsRow(w, h, metricsOptions) })));
    const spreadOptions: SpreadOptions = {
      windowMs: options.spreadWindowMs,
      warningFactor: options.spreadWarningFactor,
      warningBps: options.spreadWarningBps,
      retain: retainFor(options.spreadWindowMs),
    };
    this.spreadEngine = new WindowEngine(spreadKind(spreadOptions), engineOptions);
    this.quoteStages.push(new BoundStage(this.spreadEngine, (w) => ({ table: 'spread_metrics', row: spreadRow(w, spreadOptions) })));
    this.step = gcd(gcd(step, options.metricsWindowMs), options.spreadWindowMs);
  }

  /** Folds events in, in delivery order, and returns what must be durable before their offsets commit. */
  ingest(inputs: readonly CoreInput[]): IngestResult {
    const out: IngestResult = { upserts: [], late: [], rejected: [] };
    for (const input of inputs) {
      try {
        this.ingestOne(input, out);
      } catch (err) {
        // One undecodable event must not stop the stream (or be redelivered forever).
        if (!(err instanceof TickflowError && err.code === ErrorCodes.DECODE)) throw err;
        out.rejected.push({ source: input.source, offset: input.offset, reason: err.message });
      }
      this.lastOffset.set(input.source, input.offset);
    }
    return out;
  }

  private ingestOne(input: CoreInput, out: IngestResult): void {
    const e = input.event;
    if ((e.type === 'trade' || e.type === 'aggTrade') && e.type === this.options.tradeStream) {
      const t = tradeInput(e);
      // A healed trade (REST) can race the same id arriving late over the WebSocket; folding it in
      // twice would count it twice. Only healed ones are checked: a live redelivery is an offset duplicate.
      if (e.healed === true && this.tradeStages[0]?.engine.seen(t.instrument, t.firstTradeId, t.lastTradeId) === true) return;
      // A USD-M INSURANCE_FUND/ADL/NA trade takes an id in the sequence but no part in candles (as in Binance's klines).
      if (!isMarketTrade(e)) {
        for (const stage of this.tradeStages) stage.observeIds(t.instrument, t.firstTradeId, t.lastTradeId, out.upserts);
        return;
      }
      const whale = this.whales.detect(t);
      if (whale) out.upserts.push({ table: 'whale_trades', row: whale });
      this.route(this.tradeStages, input, t.instrument, t.time, t, out);
    } else if (e.type === 'bookTicker') {
      const q = quoteInput(e);
      this.route(this.quoteStages, input, q.instrument, q.time, q, out);
    }
  }

  /** Open windows changed since the last call (the periodic trigger's partial upserts). */
  partials(): Upsert[] {
    const out: Upsert[] = [];
    for (const stage of this.stages()) stage.dirty(out);
    return out;
  }

  /** Every open window as a partial row (shutdown: dashboards keep the latest values). */
  openRows(): Upsert[] {
    const out: Upsert[] = [];
    for (const stage of this.stages()) stage.open(out);
    return out;
  }

  /** The input has ended: closes every open window as final (but not complete). */
  finish(): Upsert[] {
    const out: Upsert[] = [];
    for (const stage of this.stages()) stage.finish(out);
    return out;
  }

  /**
   * The highest offset of `source` whose effects are all in rows returned so far: everything
   * below the oldest event still held only in an open window. Undefined when nothing is.
   */
  committable(source: string): bigint | undefined {
    const last = this.lastOffset.get(source);
    if (last === undefined) return undefined;
    let lowest: bigint | undefined;
    for (const stage of this.stages()) {
      const o = stage.minOpenOffset(source);
      if (o !== undefined && (lowest === undefined || o < lowest)) lowest = o;
    }
    if (lowest === undefined) return last;
    return lowest > 0n ? lowest - 1n : undefined;
  }

  sources(): string[] {
    return [...this.lastOffset.keys()];
  }

  /**
   * Forgets a source's open windows and watermark: its partition was revoked, and the next owner
   * replays them from the committed offset.
   */
  forget(source: string): void {
    for (const stage of this.stages()) stage.forget(source);
    this.maxTime.delete(source);
    this.lastOffset.delete(source);
  }

  watermark(source: string): number {
    return (this.maxTime.get(source) ?? -Infinity) - this.options.allowedLatenessMs;
  }

  openWindowCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const stage of this.stages()) counts[stage.engine.kind.name] = stage.openCount();
    return counts;
  }

  /** Re-installs final rows stored before a restart (the recent past each kind retains). */
  restore(rows: RestoredRows): void {
    for (const row of rows.candles) this.candleRestore.get(row.interval)?.restore(row);
    for (const row of rows.tradeMetrics) {
      this.metricsEngine.restore(restoredWindow(row, tradeMetricsStateFromRow(row), this.options.metricsWindowMs));
    }
    for (const row of rows.spreadMetrics) {
      this.spreadEngine.restore(restoredWindow(row, spreadStateFromRow(row), this.options.spreadWindowMs));
    }
  }

  /** How many final windows per symbol each table and interval needs reloaded after a restart. */
  retention(): Retention {
    const candles: Record<string, number> = {};
    for (const [interval, c] of this.candleRestore) candles[interval] = c.retain;
    return {
      candles,
      trade_metrics: { [windowLabel(this.options.metricsWindowMs)]: this.metricsEngine.kind.retain },
      spread_metrics: { [windowLabel(this.options.spreadWindowMs)]: this.spreadEngine.kind.retain },
    };
  }

  private route<E>(stages: readonly Stage<E>[], input: CoreInput, instrument: Instrument, time: number, event: E, out: IngestResult): void {
    const watermark = this.watermark(input.source);
    let late = false;
    for (const stage of stages) {
      if (stage.apply(input, instrument, time, event, watermark, this.options.lateEvents, out)) late = true;
    }
    if (late) out.late.push(instrument);
    const before = this.maxTime.get(input.source) ?? -Infinity;
    if (time <= before) return;
    this.maxTime.set(input.source, time);
    const next = this.watermark(input.source);
    if (Math.floor(next / this.step) === Math.floor(watermark / this.step)) return;
    for (const stage of stages) stage.advance(input.source, next, out.upserts);
  }

  private stages(): Stage<unknown>[] {
    return [...this.tradeStages, ...this.quoteStages] as Stage<unknown>[];
  }
}

function restoredWindow<S>(
  row: Instrument & { windowStart: number; sourceOffset: bigint; isComplete?: boolean },
  state: S,
  sizeMs: number,
): Omit<Window<S>, 'minOffset' | 'final' | 'dirty'> {
  return {
    instrument: { exchange: row.exchange, market: row.market, symbol: row.symbol },
    start: row.windowStart,
    end: row.windowStart + sizeMs,
    source: '',
    state,
    maxOffset: row.sourceOffset,
    complete: row.isComplete ?? false,
  };
}
