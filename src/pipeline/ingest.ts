import type { PipelineStatus } from '../api/pipeline.js';
import type { Bus } from '../bus/bus.js';
import type { PipelineEvent } from '../core/events.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { Sink } from '../sinks/sink.js';
import { type LiveBooks, startBooks } from './book.js';
import type { RoleContext } from './context.js';
import { publishEverywhere } from './sinks.js';
import type { StartedSource } from './sources.js';

/** What ingest has published since start: market events per stream type, gaps, dead letters. */
export interface IngestTotals {
  /** Market events per stream type (trade, aggTrade, bookTicker, depth, kline). */
  readonly events: Readonly<Record<string, number>>;
  readonly gaps: number;
  readonly deadLetters: number;
}

/** The running ingest of a process: its status for /api/pipeline, its totals, its live order books. */
export interface Ingest {
  status(): PipelineStatus;
  totals(): IngestTotals;
  /** The live order books (book.enabled and a depth stream), fed before each batch is published. */
  readonly books: LiveBooks | undefined;
}

/**
 * Connects a source to the bus and to every sink: every record the source emits is published to
 * all of them, and the source is slowed down while any is full (publish resolves late). Stopping
 * the source is the first shutdown step, so everything it emitted is still flushed downstream. The
 * live order books see every batch before it is published and publish their own records
 * (snapshots) the same way.
 */
export async function startIngest(ctx: RoleContext, started: StartedSource, bus: Bus, sinks: readonly Sink[] = []): Promise<Ingest> {
  const { source } = started;
  const events: Record<string, number> = {};
  let gaps = 0;
  let deadLetters = 0;
  const count = (batch: readonly PipelineEvent[]): void => {
    for (const e of batch) {
      if (e.type === 'gap') gaps++;
      else if (e.type === 'deadLetter') deadLetters++;
      else events[e.type] = (events[e.type] ?? 0) + 1;
    }
  };
  ctx.health.register('source', () => {
    const status = source.status();
    if (status.error !== undefined) return { state: 'down', reason: status.error, details: { ...status } };
    if (source.ready() || status.finished) return { state: 'up', details: { ...status } };
    return { state: 'down', reason: `source ${status.kind} is not connected`, details: { ...status } };
  });
  ctx.shutdown.onShutdown('stop source', () => source.stop(), ShutdownOrder.stopReading);
  const books = startBooks(ctx, started, (batch) => publishEverywhere(bus, sinks, batch));
  await source.start(async (batch) => {
    books?.observe(batch);
    await publishEverywhere(bus, sinks, batch);
    count(batch);
  });
  return {
    status: () => ({ source: source.status(), bus: { kind: bus.kind, consumerLag: null } }),
    totals: () => ({ events: { ...events }, gaps, deadLetters }),
    books,
  };
}
