import { type BookView, BookKeeper } from '../book/book-keeper.js';
import type { Instrument, PipelineEvent } from '../core/events.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import { marketSources } from '../sources/markets.js';
import type { RoleContext } from './context.js';
import { restClientFor } from './rest-clients.js';
import type { StartedSource } from './sources.js';

/** The live order books of a process, by instrument. */
export interface LiveBooks {
  /** Feeds a batch the source emitted (before it is published). */
  observe(batch: readonly PipelineEvent[]): void;
  /** The best `depth` levels, or null when the instrument has no book in step with the stream. */
  top(instrument: Instrument, depth: number): BookView | null;
  /** Publishes the top levels of every book that moved since its last snapshot now (a finished replay). */
  flush(): Promise<void>;
}

/**
 * Starts a BookKeeper per configured market when `book.enabled` and `source.streams` has `depth`
 * (docs/book.md). A live source's books fetch REST snapshots through the process's shared REST
 * client (the simulator's for `--source sim`); a replay's start from the snapshot lines of the
 * recording. What they make is published with `publish`. Undefined when no book is kept.
 */
export function startBooks(ctx: RoleContext, started: StartedSource, publish: (events: readonly PipelineEvent[]) => Promise<void>): LiveBooks | undefined {
  const { config } = ctx;
  if (!config.book.enabled || !config.source.streams.includes('depth')) return undefined;
  const replay = config.source.kind.startsWith('replay:');
  const markets = marketSources(config.source);
  const keepers = new Map<string, BookKeeper>();
  for (const m of replay ? markets.slice(0, 1) : markets) {
    const endpoint = started.rest.find((r) => r.market === m.market);
    const rest = replay || endpoint === undefined ? undefined : restClientFor(ctx, endpoint);
    const keeper = new BookKeeper({
      exchange: m.exchange,
      market: m.market,
      symbols: m.symbols,
      config: config.book,
      ...(rest ? { fetchSnapshot: (symbol: string, limit: number) => rest.depth(symbol, limit, { priority: 'live' }) } : {}),
      emit: publish,
      logger: ctx.logger,
      metrics: ctx.metrics,
    });
    keeper.start();
    ctx.shutdown.onShutdown(`stop order books (${m.market})`, () => keeper.stop(), ShutdownOrder.stopReading);
    keepers.set(`${m.exchange}:${m.market}`, keeper);
  }
  return {
    observe: (batch) => {
      for (const k of keepers.values()) k.observe(batch);
    },
    top: (i, depth) => keepers.get(`${i.exchange}:${i.market}`)?.top(i.symbol, depth) ?? null,
    flush: async () => {
      await Promise.all([...keepers.values()].map((k) => k.flush()));
    },
  };
}
