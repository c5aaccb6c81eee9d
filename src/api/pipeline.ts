import type { Database } from '../store/database.js';
import type { HealthRegistry } from '../ops/health.js';
import type { SourceStatus } from '../sources/source.js';
import type { LiveFeed } from './live.js';
import type { StreamRate } from './live-stats.js';
import { storeCounts } from './queries.js';

export interface ConsumerLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
}

/**
 * What the integrator knows about the running pipeline, handed to buildApp as `pipeline()`. The
 * API adds what it measures itself (rates and ingest latency of the events fed to the live feed,
 * store counts, health).
 */
export interface PipelineStatus {
  /** The source of this process; null in roles that do not ingest (serve). */
  readonly source: SourceStatus | null;
  readonly bus: {
    readonly kind: 'memory' | 'kafka';
    /** Per partition, when the bus knows it (Kafka); cache it, this is called per request. */
    readonly consumerLag: readonly ConsumerLag[] | null;
  };
  /** Per symbol and stream rates, when the integrator measures them upstream of the bus. */
  readonly streams?: readonly StreamRate[];
}

export interface PipelineReport extends PipelineStatus {
  readonly time: number;
  readonly streams: readonly StreamRate[];
  readonly ingestLatencyMs: ReturnType<LiveFeed['stats']>['ingestLatencyMs'];
  readonly live: { readonly subscribers: number; readonly buffered: number };
  readonly store: { readonly kind: Database['kind']; readonly reachable: boolean; readonly gaps: number | null; readonly deadLetters: number | null };
  readonly health: { readonly ready: boolean; readonly reasons: readonly string[] };
}

export async function pipelineReport(deps: {
  pipeline: () => PipelineStatus | Promise<PipelineStatus>;
  live: LiveFeed;
  db: Database;
  health: HealthRegistry;
}): Promise<PipelineReport> {
  const [status, counts, health] = await Promise.all([
    deps.pipeline(),
    storeCounts(deps.db).catch(() => null),
    deps.health.evaluate(),
  ]);
  const live = deps.live.stats();
  return {
    ...status,
    time: Date.now(),
    streams: status.streams ?? live.streams,
    ingestLatencyMs: live.ingestLatencyMs,
    live: { subscribers: live.subscribers, buffered: live.buffered },
    store: { kind: deps.db.kind, reachable: counts !== null, gaps: counts?.gaps ?? null, deadLetters: counts?.deadLetters ?? null },
    health: { ready: health.ready, reasons: health.reasons },
  };
}
