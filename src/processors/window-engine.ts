import { IdCoverage } from './id-coverage.js';
import type { Instrument } from '../core/events.js';
import { InstrumentMap } from '../core/instrument-map.js';

/**
 * Event-time tumbling windows keyed by instrument (exchange, market, symbol), with no I/O: events go in, window snapshots come
 * out. Windows are assigned by the exchange's event time, never arrival. Each window remembers the
 * highest bus offset folded into it, which makes applying the same event twice a no-op; that is
 * what lets the processor replay from its committed offset after a crash and end up with the same
 * rows as an uninterrupted run.
 */

/** What one kind of window does with its state; one implementation per output table. */
export interface WindowKind<E, S> {
  /** Stable name used in late-event rows, e.g. `candles:1m`. */
  readonly name: string;
  readonly sizeMs: number;
  /** Closed windows kept per instrument (for late corrections, indicators, baselines). */
  readonly retain: number;
  create(first: E): S;
  add(state: S, event: E): void;
  /**
   * The state of a window in which nothing happened, following `previous`; absent when such
   * windows produce no row. Called for the gaps between consecutive windows of a symbol.
   */
  fill?(previous: S): S;
  /** Derives values that depend on earlier windows (indicators) once a window is final. */
  finalize?(window: Window<S>, history: readonly Window<S>[]): void;
  /**
   * The contiguous id range an event stands for (trade ids `f`..`l` of an aggTrade). Kinds with ids
   * decide completeness by them: see `WindowEngine.isComplete`.
   */
  ids?(event: E): readonly [number, number];
  /** The lowest and highest id folded into a window; undefined for a window without events. */
  idSpan?(state: S): readonly [number, number] | undefined;
}

/** Bounds of a WindowEngine. */
export interface WindowEngineOptions {
  /**
   * Empty windows filled between two windows of a symbol at most (the latest ones): one event with
   * an absurd time (0, 2^53) must not make the engine fill windows from 1970.
   */
  readonly maxFillWindows: number;
}

/**
 * One window of one instrument: [start, end) in epoch ms, its state, the bus offsets folded in,
 * final/complete, changed since the last upsert.
 */
export interface Window<S> {
  readonly instrument: Instrument;
  readonly start: number;
  readonly end: number;
  /** Which bus partition feeds this instrument (`topic/partition`). */
  readonly source: string;
  state: S;
  /** Lowest offset folded in since the window was opened; undefined once closed or when empty. */
  minOffset: bigint | undefined;
  /** Highest offset folded in; -1n for windows with no events (fills). */
  maxOffset: bigint;
  final: boolean;
  /**
   * Every event of the window is known. With ids: the ids from the one before the window's first
   * to the one after its last were all seen (an empty window: the id after the previous window's
   * last was seen). Without ids: closed by the watermark after an adjacent earlier window.
   */
  complete: boolean;
  dirty: boolean;
}

/** What WindowEngine.apply did with an event: folded into an open window, a redelivery, or late. */
export type ApplyResult<S> =
  | { readonly kind: 'open' | 'duplicate' }
  /** The event belongs to a window the watermark already closed; `window` is it when retained. */
  | { readonly kind: 'late'; readonly window: Window<S> | undefined };

interface SymbolWindows<S> {
  readonly open: Map<number, Window<S>>;
  /** Closed windows, ascending by start, at most `retain`. */
  readonly closed: Window<S>[];
  /** The ids seen (kinds with ids), folded in or not: completeness is decided against them. */
  readonly coverage: IdCoverage;
  /**
   * The ids whose arrival can make an incomplete closed window complete (the union of what each
   * one lacks); ids arriving in order above it cost nothing.
   */
  watch: { lo: number; hi: number };
  /** Ids inside `watch` arrived since the closed windows were last re-examined. */
  recheck: boolean;
}

/**
 * Event-time tumbling windows of one kind (`kind`) for every instrument, with no I/O. Events are
 * assigned by exchange time (epoch ms) to `[start, start + kind.sizeMs)` windows aligned to the epoch;
 * `apply` folds an event into its open window, reports a redelivery (offset ≤ the window's highest)
 * as `duplicate` and an event behind the watermark as `late` (the caller chooses `correct` or a
 * late-event row); `advance` closes, in order, the windows whose end the partition's watermark passed.
 * Closing a window of a kind with `fill` first fills the empty windows since the previous one of its
 * instrument, at most `options.maxFillWindows` (default 1,440) of them: input never drives an
 * unbounded loop.
 * Completeness is judged by ids where the kind has them (`isComplete`). Throws nothing of its own; what
 * `kind` throws propagates.
 */
export class WindowEngine<E, S> {
  private readonly symbols = new InstrumentMap<SymbolWindows<S>>();

  constructor(
    readonly kind: WindowKind<E, S>,
    private readonly options: WindowEngineOptions = { maxFillWindows: 1_440 },
  ) {}

  /** Start (epoch ms) of the window holding `time` (epoch ms): windows are aligned to the epoch, as Binance's klines are. */
  windowStart(time: number): number {
    return Math.floor(time / this.kind.sizeMs) * this.kind.sizeMs;
  }

  /**
   * Folds one event into its open window. A late event (its window already closed) is not applied
   * here: the caller decides between `correct()` and recording it elsewhere.
   */
  apply(source: string, offset: bigint, instrument: Instrument, time: number, event: E, watermark: number): ApplyResult<S> {
    const start = this.windowStart(time);
    const sw = this.symbolWindows(instrument);
    const ids = this.kind.ids?.(event);
    // Seen even when it is a redelivery or late: completeness is about what the exchange sent.
    if (ids) {
      sw.coverage.add(ids[0], ids[1]);
      if (ids[1] >= sw.watch.lo && ids[0] <= sw.watch.hi) sw.recheck = true;
    }
    const open = sw.open.get(start);
    if (open) {
      if (offset <= open.maxOffset) return { kind: 'duplicate' };
      this.kind.add(open.state, event);
      open.maxOffset = offset;
      open.dirty = true;
      return { kind: 'open' };
    }
    const closed = findClosed(sw.closed, start);
    if (closed && offset <= closed.maxOffset) return { kind: 'duplicate' };
    const end = start + this.kind.sizeMs;
    if (closed || end <= watermark || start <= (sw.closed.at(-1)?.start ?? -Infinity)) {
      return { kind: 'late', window: closed };
    }
    sw.open.set(start, {
      instrument,
      start,
      end,
      source,
      state: this.kind.create(event),
      minOffset: offset,
      maxOffset: offset,
      final: false,
      complete: false,
      dirty: true,
    });
    return { kind: 'open' };
  }

  /**
   * Applies a late event to its closed window (creating it when it never existed and would be
   * retained) and returns the window to re-upsert; undefined when it is older than what is kept.
   */
  correct(source: string, offset: bigint, instrument: Instrument, time: number, event: E, window: Window<S> | undefined): Window<S> | undefined {
    const sw = this.symbolWindows(instrument);
    if (window) {
      this.kind.add(window.state, event);
      window.maxOffset = offset;
      if (this.kind.idSpan) this.judge(sw, window);
      this.kind.finalize?.(window, this.historyBefore(sw, window.start));
      return window;
    }
    const start = this.windowStart(time);
    const oldest = sw.closed[0];
    if (oldest && start < oldest.start && sw.closed.length >= this.kind.retain) return undefined;
    const created: Window<S> = {
      instrument,
      start,
      end: start + this.kind.sizeMs,
      source,
      state: this.kind.create(event),
      minOffset: undefined,
      maxOffset: offset,
      final: true,
      complete: false,
      dirty: false,
    };
    this.insertClosed(sw, created);
    if (this.kind.idSpan) this.judge(sw, created);
    this.kind.finalize?.(created, this.historyBefore(sw, start));
    return created;
  }

  /** True when every id `first`..`last` of `instrument` was seen (kinds with ids). */
  seen(instrument: Instrument, first: number, last: number): boolean {
    return this.symbols.get(instrument)?.coverage.covers(first, last) ?? false;
  }

  /**
   * Ids the exchange sent that fold into no window (a USD-M INSURANCE_FUND/ADL/NA trade takes a
   * trade id but is not in klines): seen all the same, so the windows around them can be complete.
   */
  observeIds(instrument: Instrument, first: number, last: number): void {
    const sw = this.symbolWindows(instrument);
    sw.coverage.add(first, last);
    if (last >= sw.watch.lo && first <= sw.watch.hi) sw.recheck = true;
  }

  /**
   * Closed windows of `instrument` that the ids seen since they closed now show complete (the ids a
   * reordering delayed have arrived), for a re-upsert. Does nothing while ids arrive in order.
   */
  settle(instrument: Instrument, out: Window<S>[]): void {
    const sw = this.symbols.get(instrument);
    if (!sw?.recheck) return;
    sw.recheck = false;
    sw.watch = { lo: Infinity, hi: -Infinity };
    for (const w of sw.closed) {
      if (w.complete) continue;
      if (this.isComplete(sw, w)) {
        w.complete = true;
        out.push(w);
      } else {
        this.watchFor(sw, w);
      }
    }
  }

  /** Closes, in time order, every window of `source` whose end the watermark has passed. */
  advance(source: string, watermark: number, out: Window<S>[]): void {
    for (const sw of this.symbols.values()) {
      if (sw.open.size === 0) continue;
      for (const w of [...sw.open.values()].sort((a, b) => a.start - b.start)) {
        if (w.source !== source || w.end > watermark) break;
        this.close(sw, w, true, out);
      }
    }
  }

  /** Closes every open window (input finished); they are final but not claimed complete. */
  finish(out: Window<S>[]): void {
    for (const sw of this.symbols.values()) {
      for (const w of [...sw.open.values()].sort((a, b) => a.start - b.start)) this.close(sw, w, false, out);
    }
  }

  /** Open windows changed since the last call, for partial upserts. */
  takeDirty(out: Window<S>[]): void {
    for (const sw of this.symbols.values()) {
      for (const w of sw.open.values()) {
        if (!w.dirty) continue;
        w.dirty = false;
        out.push(w);
      }
    }
  }

  /** All open windows, for a partial flush on shutdown. */
  openWindows(): Window<S>[] {
    return [...this.symbols.values()].flatMap((sw) => [...sw.open.values()]);
  }

  /** The lowest offset of `source` still only held in an open window, if any. */
  minOpenOffset(source: string): bigint | undefined {
    let lowest: bigint | undefined;
    for (const sw of this.symbols.values()) {
      for (const w of sw.open.values()) {
        if (w.source === source && w.minOffset !== undefined && (lowest === undefined || w.minOffset < lowest)) lowest = w.minOffset;
      }
    }
    return lowest;
  }

  /** Open windows over all instruments (ProcessorCore.openWindowCounts reports them per kind). */
  openCount(): number {
    let n = 0;
    for (const sw of this.symbols.values()) n += sw.open.size;
    return n;
  }

  /** Closed windows of `instrument` before `start`, oldest first (for indicators and baselines). */
  history(instrument: Instrument, start: number): readonly Window<S>[] {
    return this.historyBefore(this.symbolWindows(instrument), start);
  }

  /** Drops the open windows fed by `source` (its partition moved to another instance, which replays them). */
  forget(source: string): void {
    for (const sw of this.symbols.values()) {
      for (const w of sw.open.values()) if (w.source === source) sw.open.delete(w.start);
    }
  }

  /** Re-installs a final window loaded from the store after a restart. */
  restore(window: Omit<Window<S>, 'minOffset' | 'final' | 'dirty'>): void {
    const sw = this.symbolWindows(window.instrument);
    const span = this.kind.idSpan?.(window.state);
    // A stored complete window vouches for its ids and both neighbours'; an incomplete one only for its ends.
    if (span && window.complete) sw.coverage.add(span[0] - 1, span[1] + 1);
    else if (span) {
      sw.coverage.add(span[0], span[0]);
      sw.coverage.add(span[1], span[1]);
    }
    const restored: Window<S> = { ...window, minOffset: undefined, final: true, dirty: false };
    this.insertClosed(sw, restored);
    if (!restored.complete) this.watchFor(sw, restored);
  }

  private close(sw: SymbolWindows<S>, w: Window<S>, byWatermark: boolean, out: Window<S>[]): void {
    const previous = sw.closed.at(-1);
    if (previous && this.kind.fill && previous.start < w.start) {
      const size = this.kind.sizeMs;
      // Bounded: only the latest windows before `w` are filled, however far back `previous` lies.
      const first = Math.max(previous.start + size, w.start - this.options.maxFillWindows * size);
      // Every window of one quiet stretch has the same answer: judged once, before any is added.
      const quiet = this.kind.idSpan ? this.isComplete(sw, { start: first }) : byWatermark;
      if (!quiet) this.watchFor(sw, { start: first });
      for (let start = first; start < w.start; start += size) {
        const last = sw.closed.at(-1) as Window<S>;
        const filled: Window<S> = {
          instrument: w.instrument,
          start,
          end: start + size,
          source: w.source,
          state: this.kind.fill(last.state),
          minOffset: undefined,
          maxOffset: -1n,
          final: true,
          complete: quiet,
          dirty: false,
        };
        this.kind.finalize?.(filled, sw.closed);
        this.insertClosed(sw, filled);
        out.push(filled);
      }
    }
    sw.open.delete(w.start);
    const adjacent = sw.closed.at(-1)?.start === w.start - this.kind.sizeMs;
    w.final = true;
    w.minOffset = undefined;
    w.dirty = false;
    this.kind.finalize?.(w, this.historyBefore(sw, w.start));
    this.insertClosed(sw, w);
    if (this.kind.idSpan) this.judge(sw, w);
    else w.complete = byWatermark && adjacent;
    out.push(w);
  }

  /**
   * Completeness by ids: a window with events is complete when the ids from the one before its
   * first to the one after its last were all seen (nothing of it is missing, and its neighbours
   * hold the ids on both sides); a window without events when the id after the last id of the
   * closest earlier window with events was seen (that trade, and all later ones, lie after it).
   */
  private isComplete(sw: SymbolWindows<S>, w: { readonly start: number; readonly state?: S }): boolean {
    const needed = this.neededIds(sw, w);
    return needed !== undefined && sw.coverage.covers(needed[0], needed[1]);
  }

  /** The ids that must all have been seen for `w` to be complete (isComplete); undefined when nothing can tell. */
  private neededIds(sw: SymbolWindows<S>, w: { readonly start: number; readonly state?: S }): readonly [number, number] | undefined {
    const span = w.state === undefined ? undefined : this.kind.idSpan?.(w.state);
    if (span) return [span[0] - 1, span[1] + 1];
    for (let i = sw.closed.length - 1; i >= 0; i -= 1) {
      const before = sw.closed[i] as Window<S>;
      if (before.start >= w.start) continue;
      const previous = this.kind.idSpan?.(before.state);
      if (previous) return [previous[1], previous[1] + 1];
    }
    return undefined;
  }

  /** Sets `w.complete` by ids; an incomplete window is watched so that the ids it lacks complete it when they arrive. */
  private judge(sw: SymbolWindows<S>, w: Window<S>): void {
    w.complete = this.isComplete(sw, w);
    if (!w.complete) this.watchFor(sw, w);
  }

  private watchFor(sw: SymbolWindows<S>, w: { readonly start: number; readonly state?: S }): void {
    const needed = this.neededIds(sw, w);
    if (!needed) return;
    sw.watch.lo = Math.min(sw.watch.lo, needed[0]);
    sw.watch.hi = Math.max(sw.watch.hi, needed[1]);
  }

  private historyBefore(sw: SymbolWindows<S>, start: number): readonly Window<S>[] {
    const i = sw.closed.findIndex((w) => w.start >= start);
    return i < 0 ? sw.closed : sw.closed.slice(0, i);
  }

  private insertClosed(sw: SymbolWindows<S>, w: Window<S>): void {
    const closed = sw.closed;
    let i = closed.length;
    while (i > 0 && (closed[i - 1] as Window<S>).start > w.start) i -= 1;
    if (closed[i - 1]?.start === w.start) closed[i - 1] = w;
    else closed.splice(i, 0, w);
    if (closed.length <= this.kind.retain) return;
    closed.splice(0, closed.length - this.kind.retain);
    // Ids of windows no longer kept are not needed to judge the ones that are.
    for (const kept of closed) {
      const span = this.kind.idSpan?.(kept.state);
      if (!span) continue;
      sw.coverage.forgetBelow(span[0] - 1);
      break;
    }
  }

  private symbolWindows(instrument: Instrument): SymbolWindows<S> {
    let sw = this.symbols.get(instrument);
    if (!sw) {
      sw = { open: new Map(), closed: [], coverage: new IdCoverage(), watch: { lo: Infinity, hi: -Infinity }, recheck: false };
      this.symbols.set(instrument, sw);
    }
    return sw;
  }
}

function findClosed<S>(closed: readonly Window<S>[], start: number): Window<S> | undefined {
  for (let i = closed.length - 1; i >= 0; i -= 1) {
    const w = closed[i] as Window<S>;
    if (w.start === start) return w;
    if (w.start < start) return undefined;
  }
  return undefined;
}
