import type { Instrument } from '../core/events.js';
import type { Database } from '../store/database.js';
import type { HealReport } from '../history/healer.js';
import type { HealthRegistry } from '../ops/health.js';
import type { SourceStatus } from '../sources/source.js';
import type { LiveFeed } from './live.js';
import type { StreamRate } from './live-stats.js';
import type { PipelineReport } from './contract.js';
import { storeCounts } from './queries.js';

/** One consumer group's position on one partition (see LagSample in ops/process-metrics.ts). */
export interface ConsumerLag {
  readonly group: string;
  readonly topic: string;
  readonly partition: number;
  /** Processing lag: records not yet processed. */
  readonly lag: number;
  /** Records processed but kept uncommitted (open windows), read again after a crash; 0 or absent for the store writer. */
  readonly recoveryDistance?: number;
}

/** An instrument's exchangeInfo trading rules: PRICE_FILTER tickSize and LOT_SIZE stepSize. */
export interface InstrumentRules extends Instrument {
  readonly tickSize: string;
  readonly stepSize: string;
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
    readonly kind: 'memory' | 'kafka' | 'kinesis';
    /** Per partition, when the bus knows it (Kafka); cache it, this is called per request. */
    readonly consumerLag: readonly ConsumerLag[] | null;
  };
  /** Gap healing in this process; null or absent where it does not run. */
  readonly heal?: HealReport | null;
  /** Per symbol and stream rates, when the integrator measures them upstream of the bus. */
  readonly streams?: readonly StreamRate[];
  /** The trading rules the source read from exchangeInfo at start (none for a replay or the serve role). */
  readonly instruments?: readonly InstrumentRules[];
}

type IngestLatencyReport = PipelineReport['ingestLatencyMs'];

/**
 * GET /api/pipeline: the integrator's `PipelineStatus` plus what the API measures itself — rates
 * and ingest latency of the events fed to the live feed, store row counts (null, `reachable`
 * false, when the database does not answer; never an error), health. The body is contract.ts
 * PipelineReport; times epoch ms, latencies ms.
 */
export async function pipelineReport(deps: {
  pipeline: () => PipelineStatus | Promise<PipelineStatus>;
  live: LiveFeed;
  db: Database;
  health: HealthRegistry;
}): Promise<PipelineReport> {
  const [status, counts, health] = await Promise.all([deps.pipeline(), storeCounts(deps.db).catch(() => null), deps.health.evaluate()]);
  const live = deps.live.stats();
  return {
    ...status,
    time: Date.now(),
    streams: status.streams ?? live.streams,
    ingestLatencyMs: ingestLatency(status, live.ingestLatencyMs),
    live: { subscribers: live.subscribers, buffered: live.buffered },
    store: {
      kind: deps.db.kind,
      reachable: counts !== null,
      gaps: counts?.gaps ?? null,
      unhealedGaps: counts?.unhealedGaps ?? null,
      deadLetters: counts?.deadLetters ?? null,
    },
    health: { ready: health.ready, reasons: health.reasons },
  };
}

/**
 * A replay has no ingest latency of its own: its receive times are another machine's clock at
 * recording time (the shared recordings run behind exchange time, so the difference is negative
 * and means nothing about this pipeline). `notApplicable` says so instead of a figure.
 */
function ingestLatency(status: PipelineStatus, measured: ReturnType<LiveFeed['stats']>['ingestLatencyMs']): IngestLatencyReport {
  if (!status.source?.kind.split('+').includes('replay')) return measured;
  return {
    p50: null,
    p99: null,
    samples: 0,
    byStream: {},
    notApplicable: "replay: receive times are the recording's clock, not this pipeline's",
  };
}
