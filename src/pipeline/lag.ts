import type { ConsumerLag } from '../api/pipeline.js';
import { type LagSample, type LagSampler, sampleLag } from '../ops/process-metrics.js';
import { ShutdownOrder } from '../ops/shutdown.js';
import type { RoleContext } from './context.js';

/** The consumer lag the role watches, per group, topic and partition (records). */
export interface LagWatch {
  /** The latest sample of every watched group, for /api/pipeline. */
  latest(): ConsumerLag[];
}

/**
 * Samples each consumer group's processing lag and recovery distance (LagSample) into metrics and
 * /health until shutdown; /health turns degraded on the processing lag only.
 */
export function watchLag(ctx: RoleContext, groups: Readonly<Record<string, { lag(): Promise<readonly LagSample[]> }>>): LagWatch {
  const samplers: [string, LagSampler][] = Object.entries(groups).map(([group, consumer]) => [
    group,
    sampleLag(consumer, group, ctx.metrics, { logger: ctx.logger, health: ctx.health }),
  ]);
  ctx.shutdown.onShutdown(
    'stop lag sampling',
    () => {
      for (const [, s] of samplers) s.stop();
    },
    ShutdownOrder.stopReading,
  );
  return { latest: () => samplers.flatMap(([group, s]) => s.latest().map((l) => ({ group, ...l }))) };
}
