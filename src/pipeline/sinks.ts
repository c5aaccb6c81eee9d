import type { PipelineEvent } from '../core/events.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import { createSink } from '../sinks/registry.js';
import type { Sink, SinkDeps } from '../sinks/sink.js';
import type { RoleContext } from './context.js';

/**
 * Opens and checks every configured sink (`sinks` in the config; none by default; rejects with
 * TF_SINK_REJECTED when one can never deliver, see Sink.check), shows each in /health as
 * `sink:<name>` and flushes it on shutdown once the source has stopped, so every event ingest
 * handed it is delivered or dead-lettered before the process exits.
 */
export async function openSinks(ctx: RoleContext, extra: Pick<SinkDeps, 'awsCredentials'> = {}): Promise<Sink[]> {
  const sinks = ctx.config.sinks.map((options) => {
    const sink = createSink(options, { logger: ctx.logger, metrics: ctx.metrics, dataDir: ctx.config.store.dataDir, ...extra });
    ctx.health.register(`sink:${sink.name}`, () => sink.health());
    ctx.shutdown.onShutdown(`flush sink ${sink.name}`, () => sink.close(), ShutdownOrder.flushBuffers);
    return sink;
  });
  // A sink that can never deliver stops the start with its reason (the shutdown hooks close them all).
  await Promise.all(sinks.map((s) => s.check()));
  for (const sink of sinks) ctx.logger.info({ sink: sink.name, kind: sink.kind }, 'sink opened');
  return sinks;
}

/** Publishes a batch to the bus and every sink at once; resolves when all took it (the slowest sets the pace). */
export async function publishEverywhere(
  bus: { publish(events: readonly PipelineEvent[]): Promise<void> },
  sinks: readonly Sink[],
  batch: readonly PipelineEvent[],
): Promise<void> {
  await Promise.all([bus.publish(batch), ...sinks.map((s) => s.publish(batch))]);
}
