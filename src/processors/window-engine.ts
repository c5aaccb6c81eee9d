/**
 * Event-time tumbling windows keyed by symbol, with no I/O: events go in, window snapshots come
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
  /** Closed windows kept per symbol (for late corrections, indicators, baselines). */
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
}

export interface Window<S> {
  readonly symbol: string;
  readonly start: number;
  readonly end: number;
  /** Which bus partition feeds this symbol (`topic/partition`). */
  readonly source: string;
  state: S;
  /** Lowest offset folded in since the window was opened; undefined once closed or when empty. */
  minOffset: bigint | undefined;
  /** Highest offset folded in; -1n for windows with no events (fills). */
  maxOffset: bigint;
  final: boolean;
  /** Observed from before its start (an adjacent earlier window exists) and closed by the watermark. */
  complete: boolean;
  dirty: boolean;
}

export type ApplyResult<S> =
  | { readonly kind: 'open' | 'duplicate' }
  /** The event belongs to a window the watermark already closed; `window` is it when retained. */
  | { readonly kind: 'late'; readonly window: Window<S> | undefined };

interface SymbolWindows<S> {
  readonly open: Map<number, Window<S>>;
  /** Closed windows, ascending by start, at most `retain`. */
  readonly closed: Window<S>[];
  /** Event-time spans in which events are known to be missing (holes in the id sequence). */
  holes: { from: number; to: number }[];
}

export class WindowEngine<E, S> {
  private readonly symbols = new Map<string, SymbolWindows<S>>();

  constructor(readonly kind: WindowKind<E, S>) {}

  windowStart(time: number): number {
    return Math.floor(time / this.kind.sizeMs) * this.kind.sizeMs;
  }

  /**
   * Folds one event into its open window. A late event (its window already closed) is not applied
   * here: the caller decides between `correct()` and recording it elsewhere.
   */
  apply(source: string, offset: bigint, symbol: string, time: number, event: E, watermark: number): ApplyResult<S> {
    const start = this.windowStart(time);
    const sw = this.symbolWindows(symbol);
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
      symbol, start, end, source,
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
  correct(source: string, offset: bigint, symbol: string, time: number, event: E, window: Window<S> | undefined): Window<S> | undefined {
    const sw = this.symbolWindows(symbol);
    if (window) {
      this.kind.add(window.state, event);
      window.maxOffset = offset;
      this.kind.finalize?.(window, this.historyBefore(sw, window.start));
      return window;
    }
    const start = this.windowStart(time);
    const oldest = sw.closed[0];
    if (oldest && start < oldest.start && sw.closed.length >= this.kind.retain) return undefined;
    const created: Window<S> = {
      symbol, start, end: start + this.kind.sizeMs, source,
      state: this.kind.create(event),
      minOffset: undefined,
      maxOffset: offset,
      final: true,
      complete: false,
      dirty: false,
    };
    this.insertClosed(sw, created);
    this.kind.finalize?.(created, this.historyBefore(sw, start));
    return created;
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

  openCount(): number {
    let n = 0;
    for (const sw of this.symbols.values()) n += sw.open.size;
    return n;
  }

  /** Closed windows of `symbol` before `start`, oldest first (for indicators and baselines). */
  history(symbol: string, start: number): readonly Window<S>[] {
    return this.historyBefore(this.symbolWindows(symbol), start);
  }

  /**
   * Records that events of `symbol` between event times `from` and `to` are missing (the source's
   * id sequence has a hole): no window overlapping that span is complete. Closed windows already
   * claimed complete are withdrawn and returned for a re-upsert.
   */
  addHole(symbol: string, from: number, to: number, out: Window<S>[]): void {
    const sw = this.symbolWindows(symbol);
    const oldest = sw.closed[0]?.start ?? from;
    sw.holes = sw.holes.filter((h) => h.to >= oldest);
    sw.holes.push({ from, to });
    for (const w of sw.closed) {
      if (w.complete && w.start <= to && w.end > from) {
        w.complete = false;
        out.push(w);
      }
    }
  }

  /** Drops the open windows fed by `source` (its partition moved to another instance, which replays them). */
  forget(source: string): void {
    for (const sw of this.symbols.values()) {
      for (const w of sw.open.values()) if (w.source === source) sw.open.delete(w.start);
    }
  }

  /** Re-installs a final window loaded from the store after a restart. */
  restore(window: Omit<Window<S>, 'minOffset' | 'final' | 'dirty'>): void {
    this.insertClosed(this.symbolWindows(window.symbol), { ...window, minOffset: undefined, final: true, dirty: false });
  }

  private close(sw: SymbolWindows<S>, w: Window<S>, byWatermark: boolean, out: Window<S>[]): void {
    const previous = sw.closed.at(-1);
    if (previous && this.kind.fill && previous.start < w.start) {
      for (let start = previous.start + this.kind.sizeMs; start < w.start; start += this.kind.sizeMs) {
        const last = sw.closed.at(-1) as Window<S>;
        const filled: Window<S> = {
          symbol: w.symbol, start, end: start + this.kind.sizeMs, source: w.source,
          state: this.kind.fill(last.state),
          minOffset: undefined,
          maxOffset: -1n,
          final: true,
          complete: byWatermark && !overlapsHole(sw, start, start + this.kind.sizeMs),
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
    w.complete = byWatermark && adjacent && !overlapsHole(sw, w.start, w.end);
    w.minOffset = undefined;
    w.dirty = false;
    this.kind.finalize?.(w, this.historyBefore(sw, w.start));
    this.insertClosed(sw, w);
    out.push(w);
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
    if (closed.length > this.kind.retain) closed.splice(0, closed.length - this.kind.retain);
  }

  private symbolWindows(symbol: string): SymbolWindows<S> {
    let sw = this.symbols.get(symbol);
    if (!sw) {
      sw = { open: new Map(), closed: [], holes: [] };
      this.symbols.set(symbol, sw);
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

function overlapsHole(sw: { holes: readonly { from: number; to: number }[] }, start: number, end: number): boolean {
  return sw.holes.some((h) => start <= h.to && end > h.from);
}
