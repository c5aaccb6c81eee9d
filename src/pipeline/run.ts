import type { FastifyInstance } from 'fastify';
import { buildApp } from '../api/app.js';
import { createLiveFeed, type LiveFeed } from '../api/live.js';
import type { AlertService } from '../alerts/service.js';
import type { Bus } from '../bus/bus.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import { processorGroup, startProcessor, tradeStreamOf } from '../processors/processor-role.js';
import type { Simulator } from '../simulator/index.js';
import type { Source } from '../sources/source.js';
import type { Database } from '../store/database.js';
import { lastStoredIds } from '../store/resume.js';
import type { Healer } from '../history/healer.js';
import type { MarketSource } from '../sources/markets.js';
import { storeGroup, startStoreWriter, type StoreWriter } from '../store/writer.js';
import { startAlertsFor } from './alerts.js';
import { serveApi } from './api-server.js';
import { openBus } from './bus.js';
import { deps, type RoleContext } from './context.js';
import { openStore } from './database.js';
import { watchLag } from './lag.js';
import { feedLive } from './live.js';
import { openSinks, publishEverywhere } from './sinks.js';
import { startHealing } from './heal.js';
import { createSignalHub, signalMapper } from './signals.js';
import { createSource, type StartedSource } from './sources.js';
import { type Ingest, startIngest } from './ingest.js';

/**
 * Every part `tickflow run` started (source, ingest, simulators, bus, database, live feed, API, …),
 * for the status line and tests.
 */
export interface RunningPipeline {
  readonly source: Source;
  readonly ingest: Ingest;
  readonly simulator: Simulator | undefined;
  /** Every in-process simulator by market (`--source sim`). */
  readonly simulators: Readonly<Record<string, Simulator>>;
  readonly bus: Bus;
  readonly db: Database;
  readonly live: LiveFeed;
  /** Gap healing from REST (heal.enabled). */
  readonly healer: Healer | undefined;
  /** The alert engine; undefined when alerts.enabled is false. */
  readonly alerts: AlertService | undefined;
  readonly app: FastifyInstance | undefined;
  /** http://host:port of the API and dashboard, when enabled. */
  readonly apiUrl: string | undefined;
  /**
   * Resolves when a finite source (replay) has been emitted, stored and processed completely;
   * rejects (TF_DECODE) once what it read is stored when it could not read to its end.
   */
  readonly drained: Promise<void>;
}

/**
 * `tickflow run`: every role in one process — source → bus (and every configured sink) → store
 * writer and stream processor → database, with the API and dashboard on top. Shutdown steps are
 * registered on ctx.shutdown in the order that keeps every received event: stop the source, drain
 * the bus, flush the sinks, the processor and the writer (which commit), close the database, close
 * the servers.
 */
export async function startRun(ctx: RoleContext): Promise<RunningPipeline> {
  const { config, logger } = ctx;
  const db = await openStore(ctx);
  const bus = await openBus(ctx, db);
  const sinks = await openSinks(ctx);
  const writer = await startStoreWriter({ ...deps(ctx), bus, db });
  ctx.shutdown.onShutdown('flush store writer', () => writer.close(), ShutdownOrder.flushBuffers);
  const live = createLiveFeed({
    intervals: config.processor.candleIntervals,
    whaleNotional: config.processor.whaleNotional,
    whaleNotionalBySymbol: config.processor.whaleNotionalBySymbol,
    tradeStream: tradeStreamOf(config),
  });
  // One stream of processor outputs, in process: the live feed and the alert engine subscribe.
  const signals = createSignalHub(ctx);
  signals.subscribe((batch) => live.publishSignals(batch));
  const toSignals = signalMapper(ctx);
  const processor = config.processor.enabled
    ? await startProcessor({ ...deps(ctx), bus, db, onWritten: (rows) => signals.publish(toSignals(rows)) })
    : undefined;
  if (processor) ctx.shutdown.onShutdown('flush stream processor', () => processor.close(), ShutdownOrder.flushBuffers);

  const liveConsumer = await feedLive(bus, live, ctx);
  ctx.shutdown.onShutdown('stop live feed', () => liveConsumer.close(), ShutdownOrder.flushBuffers);

  // The API listens before the source starts: a taken port stops start-up before any event is
  // received, instead of leaving a pipeline that runs without its API.
  let ingest: Ingest | undefined;
  let healer: Healer | undefined;
  let lag: ReturnType<typeof watchLag> | undefined;
  let app: FastifyInstance | undefined;
  let apiUrl: string | undefined;
  let listed: StartedSource['instruments'] = [];
  let source: Source | undefined;
  const alerts = await startAlertsFor(ctx, { db, bus, signals, source: () => source?.status(), lag: () => lag });
  if (config.api.enabled) {
    app = await buildApp({
      ...deps(ctx),
      db,
      live,
      alerts,
      book: (instrument, depth) => ingest?.books?.top(instrument, depth) ?? null,
      pipeline: () => ({
        ...(ingest?.status() ?? { source: null }),
        instruments: listed,
        bus: { kind: bus.kind, consumerLag: lag?.latest() ?? null },
        heal: healer?.report() ?? null,
      }),
    });
    apiUrl = await serveApi(ctx, app);
  }

  // Ids stored by an earlier process: what it had received but not written, and what arrived while
  // nothing ran, are a gap. With Kafka the backlog is stored first, so only what was lost counts.
  if (bus.kind === 'kafka') await writerCaughtUp(writer, config.ops.shutdownTimeoutMs);
  // Per market: spot and USD-M ids are separate sequences.
  const resumeFrom = (m: MarketSource) => lastStoredIds(db, { ...config.source, market: m.market, symbols: [...m.symbols] });
  const started = await createSource(ctx, { resumeFrom });
  const { simulator, simulators } = started;
  source = started.source;
  listed = started.instruments;
  healer = startHealing(ctx, db, (batch) => publishEverywhere(bus, sinks, batch), started.rest);
  ingest = await startIngest(ctx, started, bus, sinks);
  lag = watchLag(ctx, processor ? { [storeGroup(config.bus)]: writer, [processorGroup(config.bus)]: processor } : { [storeGroup(config.bus)]: writer });
  const running = ingest;

  const finite = source;
  const drained = finite.finished.then(async () => {
    // The book as the recording leaves it is stored too, not only the last periodic snapshot.
    await running.books?.flush();
    await bus.drain?.();
    await Promise.all(sinks.map((s) => s.flush()));
    await processor?.finish();
    await writer.flush();
    const error = finite.status().error;
    // What was read is stored either way; a source that could not read to its end is a failed run.
    if (error !== undefined) throw new TickflowError(ErrorCodes.DECODE, `source failed after storing what it read: ${error}`);
    logger.info(running.totals(), 'source finished: every event stored and every window closed');
  });
  return { source: finite, ingest: running, simulator, simulators, bus, db, live, alerts, healer, app, apiUrl, drained };
}

/** Waits (at most `limitMs`) until the store writer has written everything the bus already held. */
async function writerCaughtUp(writer: StoreWriter, limitMs: number): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (Date.now() < deadline) {
    const lag = await writer.lag().catch(() => undefined);
    if (lag?.every((p) => p.lag <= 0) && writer.stats().pendingRows === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
