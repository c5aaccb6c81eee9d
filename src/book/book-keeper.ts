import type { Config } from '../config/schema.js';
import { errorMessage, TickflowError } from '../core/errors.js';
import type { BookSnapshotEvent, DepthSnapshotEvent, Market, PipelineEvent, PriceLevel } from '../core/events.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import type { DepthSnapshot } from '../sources/binance/rest-parse.js';
import { LocalBook, type SequenceBreak } from './local-book.js';

/** Why a book (re)starts from a snapshot: the `reason` label of tickflow_book_resyncs_total. */
export type ResyncReason = 'start' | 'sequence' | 'snapshot_mismatch' | 'too_old';

/** The best levels of a book in step with the stream, best first. */
export interface BookView {
  readonly exchange: string;
  readonly market: Market;
  readonly symbol: string;
  /** The final update id `u` (or the snapshot's lastUpdateId) the levels reflect. */
  readonly updateId: number;
  /**
   * Exchange time (epoch ms) of what the levels reflect: `E` of the last diff-depth event seen, or
   * the snapshot's time before any. A replay's books are stamped with the recording's times.
   */
  readonly at: number;
  readonly bids: readonly PriceLevel[];
  readonly asks: readonly PriceLevel[];
}

/**
 * Which books a BookKeeper keeps (exchange, market, symbols), with config.book and how it fetches a
 * REST snapshot.
 */
export interface BookKeeperOptions {
  readonly exchange: string;
  readonly market: Market;
  readonly symbols: readonly string[];
  readonly config: Config['book'];
  /**
   * GET depth with `limit` levels per side (BinanceRestClient.depth, weight-aware). Absent for a
   * replay: the book then starts from the REST snapshot lines recorded in the stream.
   */
  readonly fetchSnapshot?: (symbol: string, limit: number) => Promise<DepthSnapshot>;
  /** Publishes what the keeper makes: each REST snapshot (depthSnapshot) and the periodic top levels (bookSnapshot). */
  readonly emit: (events: readonly PipelineEvent[]) => Promise<void>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Epoch ms; tests inject a clock. */
  readonly now?: () => number;
}

const MINUTE = 60_000;

interface SymbolBook {
  readonly local: LocalBook;
  readonly labels: { exchange: string; market: string; symbol: string };
  /** Why the next snapshot is needed. */
  reason: ResyncReason;
  fetching: boolean;
  timer: NodeJS.Timeout | null;
  /** Snapshot requests since the book last stayed in step for resyncMaxMs: drives the backoff. */
  attempts: number;
  lastFetchAt: number;
  /** Epoch ms since when the book has been in step; null while it is not. */
  liveSince: number | null;
  /** Update id of the last bookSnapshot emitted (an unchanged book is not stored again). */
  lastStoredUpdateId: number | null;
  /** Exchange time (epoch ms) of the last diff-depth event or snapshot. */
  exchangeTime: number;
}

/**
 * The live local order books of one market (docs/book.md): a LocalBook per symbol fed with the
 * diff-depth events the source emits, started and restarted from REST depth snapshots after
 * Binance's "How to manage a local order book correctly": buffer the stream, fetch a snapshot once
 * the first event is buffered, apply what follows it; any break discards the book and fetches a
 * new one. The break itself is recorded as a `depth` gap by the source (FrameHandler's
 * DepthSequences, the same rule), so the keeper only resyncs and counts.
 *
 * Snapshot requests are bounded whatever the stream does: one in flight per symbol, consecutive
 * resyncs of a symbol back off from resyncMinMs to resyncMaxMs, at most maxSnapshotsPerMinute per
 * market, and every request waits for the REST client's weight budget (which stays below the
 * exchange's limit, so a resync storm meets neither 429 nor 418).
 */
export class BookKeeper {
  private readonly books = new Map<string, SymbolBook>();
  private readonly now: () => number;
  /** Start times (epoch ms) of the snapshot requests of the last minute. */
  private readonly recentFetches: number[] = [];
  private snapshotTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  private readonly log: Logger;

  constructor(private readonly options: BookKeeperOptions) {
    this.now = options.now ?? Date.now;
    this.log = options.logger.child({ component: 'book', market: options.market });
    const maxLevels = Math.max(options.config.restLimit, options.config.depth) * 2;
    for (const symbol of options.symbols) {
      const labels = { exchange: options.exchange, market: options.market, symbol };
      this.books.set(symbol, {
        local: new LocalBook({ market: options.market, symbol, maxLevels }),
        labels,
        reason: 'start',
        fetching: false,
        timer: null,
        attempts: 0,
        lastFetchAt: Number.NEGATIVE_INFINITY,
        liveSince: null,
        lastStoredUpdateId: null,
        exchangeTime: 0,
      });
      options.metrics.bookInSync.set(labels, 0);
    }
  }

  /** Starts the periodic top-N snapshots (book.snapshotMs). */
  start(): void {
    this.snapshotTimer = setInterval(() => void this.storeTops(), this.options.config.snapshotMs);
  }

  /** Publishes the top levels of every book that moved since its last snapshot, now (a finished replay). */
  flush(): Promise<void> {
    return this.storeTops();
  }

  stop(): void {
    this.stopped = true;
    if (this.snapshotTimer !== null) clearInterval(this.snapshotTimer);
    for (const b of this.books.values()) if (b.timer !== null) clearTimeout(b.timer);
  }

  /** Feeds the records a source emitted (in order); only this market's depth records are used. */
  observe(batch: readonly PipelineEvent[]): void {
    for (const e of batch) {
      if ((e.type !== 'depth' && e.type !== 'depthSnapshot') || e.exchange !== this.options.exchange || e.market !== this.options.market) continue;
      const book = this.books.get(e.symbol);
      if (book === undefined) continue;
      if (e.type === 'depthSnapshot') {
        // A live keeper fetches its own snapshots; a replay's come recorded in the stream.
        if (this.options.fetchSnapshot === undefined) this.applySnapshot(book, e);
        continue;
      }
      if (e.eventTime > book.exchangeTime) book.exchangeTime = e.eventTime;
      const outcome = book.local.onDiff(e);
      if (outcome === 'buffered') this.needSnapshot(book, book.reason);
      else if (typeof outcome === 'object') this.onBreak(book, outcome);
      else if (outcome === 'applied' && book.liveSince !== null && this.now() - book.liveSince >= this.options.config.resyncMaxMs) book.attempts = 0;
    }
  }

  /** The best `depth` levels of `symbol`'s book, or null when it is not in step with the stream. */
  top(symbol: string, depth: number): BookView | null {
    const book = this.books.get(symbol);
    const updateId = book?.local.updateId() ?? null;
    if (book === undefined || updateId === null) return null;
    const { bids, asks } = book.local.book.top(depth);
    return { exchange: this.options.exchange, market: this.options.market, symbol, updateId, at: book.exchangeTime, bids, asks };
  }

  private onBreak(book: SymbolBook, brk: SequenceBreak): void {
    this.options.metrics.bookSequenceBreaks.inc(book.labels);
    this.options.metrics.bookInSync.set(book.labels, 0);
    book.liveSince = null;
    this.log.warn(
      { symbol: brk.symbol, kind: brk.kind, after: brk.afterUpdateId, U: brk.firstUpdateId, u: brk.finalUpdateId, pu: brk.prevFinalUpdateId },
      'order book out of step with the diff stream: resyncing from a new snapshot',
    );
    this.needSnapshot(book, brk.kind === 'sequence' ? 'sequence' : 'snapshot_mismatch');
  }

  private applySnapshot(book: SymbolBook, snapshot: DepthSnapshot): void {
    // Spot snapshots carry no time: the moment the answer came is the best there is.
    const at = snapshot.eventTime ?? this.now();
    if (at > book.exchangeTime) book.exchangeTime = at;
    const outcome = book.local.onSnapshot(snapshot);
    if (this.options.fetchSnapshot === undefined) this.options.metrics.bookResyncs.inc({ ...book.labels, reason: book.reason });
    if (outcome === 'live') {
      book.liveSince = this.now();
      book.reason = 'sequence';
      this.options.metrics.bookInSync.set(book.labels, 1);
      this.log.info({ symbol: book.labels.symbol, lastUpdateId: snapshot.lastUpdateId, updateId: book.local.updateId() }, 'order book in step');
    } else if (outcome === 'too_old') {
      this.needSnapshot(book, 'too_old');
    } else {
      this.onBreak(book, outcome);
    }
  }

  /** Schedules one snapshot request for `book` (none when one is pending or in flight, or for a replay). */
  private needSnapshot(book: SymbolBook, reason: ResyncReason): void {
    book.reason = reason;
    if (this.options.fetchSnapshot === undefined || this.stopped || book.fetching || book.timer !== null) return;
    const { resyncMinMs, resyncMaxMs } = this.options.config;
    const backoff = book.attempts === 0 ? 0 : Math.min(resyncMaxMs, resyncMinMs * 2 ** (book.attempts - 1));
    const now = this.now();
    const delay = Math.max(0, book.lastFetchAt + backoff - now, this.marketDelay(now));
    book.timer = setTimeout(() => {
      book.timer = null;
      void this.fetch(book);
    }, delay);
  }

  /** How long until another request fits maxSnapshotsPerMinute for this market. */
  private marketDelay(now: number): number {
    while (this.recentFetches.length > 0 && (this.recentFetches[0] as number) <= now - MINUTE) this.recentFetches.shift();
    if (this.recentFetches.length < this.options.config.maxSnapshotsPerMinute) return 0;
    return (this.recentFetches[0] as number) + MINUTE - now;
  }

  private async fetch(book: SymbolBook): Promise<void> {
    const fetchSnapshot = this.options.fetchSnapshot;
    if (fetchSnapshot === undefined || this.stopped) return;
    const now = this.now();
    const wait = this.marketDelay(now);
    if (wait > 0) {
      book.timer = setTimeout(() => {
        book.timer = null;
        void this.fetch(book);
      }, wait);
      return;
    }
    this.recentFetches.push(now);
    book.fetching = true;
    book.attempts += 1;
    book.lastFetchAt = now;
    const reason = book.reason;
    this.options.metrics.bookResyncs.inc({ ...book.labels, reason });
    let snapshot: DepthSnapshot;
    try {
      snapshot = await fetchSnapshot(book.labels.symbol, this.options.config.restLimit);
    } catch (err) {
      book.fetching = false;
      if (this.stopped) return;
      const canRetry = !(err instanceof TickflowError) || err.canRetry;
      this.log.warn({ symbol: book.labels.symbol, err: errorMessage(err), canRetry }, 'depth snapshot request failed; the book waits for the next one');
      // A refusal that cannot change (a bad symbol, a ban) waits the longest; the backoff covers the rest.
      if (!canRetry) book.attempts = Math.max(book.attempts, Math.ceil(Math.log2(this.options.config.resyncMaxMs / this.options.config.resyncMinMs)) + 1);
      this.needSnapshot(book, reason);
      return;
    }
    book.fetching = false;
    if (this.stopped) return;
    void this.publish([this.snapshotEvent(book.labels.symbol, snapshot)]);
    this.applySnapshot(book, snapshot);
  }

  /** The REST snapshot as a record, stored in depth_snapshots (a replay of the store can start its book from it). */
  private snapshotEvent(symbol: string, s: DepthSnapshot): DepthSnapshotEvent {
    const now = this.now();
    const event: { -readonly [K in keyof DepthSnapshotEvent]: DepthSnapshotEvent[K] } = {
      type: 'depthSnapshot',
      exchange: this.options.exchange,
      market: this.options.market,
      symbol,
      eventTime: s.eventTime ?? now,
      ingestionTimestamp: now * 1_000,
      lastUpdateId: s.lastUpdateId,
      bids: s.bids,
      asks: s.asks,
    };
    if (s.transactionTime !== undefined) event.transactionTime = s.transactionTime;
    return event;
  }

  /** Emits the top levels of every book in step that moved since its last stored snapshot. */
  private async storeTops(): Promise<void> {
    const depth = this.options.config.depth;
    const out: BookSnapshotEvent[] = [];
    for (const book of this.books.values()) {
      if (book.liveSince === null) continue;
      const view = this.top(book.labels.symbol, depth);
      if (view === null || view.updateId === book.lastStoredUpdateId) continue;
      book.lastStoredUpdateId = view.updateId;
      out.push({
        type: 'bookSnapshot',
        exchange: view.exchange,
        market: view.market,
        symbol: view.symbol,
        updateId: view.updateId,
        depth,
        bids: view.bids,
        asks: view.asks,
        takenAt: view.at,
      });
    }
    if (out.length > 0) await this.publish(out);
  }

  private async publish(events: readonly PipelineEvent[]): Promise<void> {
    try {
      await this.options.emit(events);
    } catch (err) {
      this.log.error({ err: errorMessage(err), records: events.length }, 'bus refused book records');
    }
  }
}
