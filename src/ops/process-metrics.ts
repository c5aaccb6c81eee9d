import client from 'prom-client';
import { errorMessage } from '../core/errors.js';
import type { HealthRegistry } from './health.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/*
 * CPU, memory, heap, event-loop lag and GC come from prom-client's default metrics (created in
 * createMetrics with the tickflow_ prefix: tickflow_process_cpu_seconds_total,
 * tickflow_process_resident_memory_bytes, tickflow_nodejs_eventloop_lag_seconds, ...). What they
 * cannot know is whether the pipeline itself is healthy, or how far consumers are behind.
 */

const exported = new WeakSet<client.Registry>();

/**
 * Mirrors the health registry into Prometheus (`tickflow_ready`, `tickflow_component_up`) so
 * alerts and dashboards see what /ready sees. Evaluated at scrape time; idempotent per registry,
 * because the API server and the ops server may both mount the health routes.
 */
export function exportHealth(metrics: Metrics, health: HealthRegistry): void {
  if (exported.has(metrics.registry)) return;
  exported.add(metrics.registry);
  // The registry collects all series concurrently: both gauges share one evaluation per scrape.
  let inFlight: ReturnType<HealthRegistry['evaluate']> | undefined;
  const evaluate = (): ReturnType<HealthRegistry['evaluate']> =>
    (inFlight ??= health.evaluate().finally(() => {
      inFlight = undefined;
    }));
  new client.Gauge({
    name: 'tickflow_ready',
    help: '1 while /ready answers 200',
    registers: [metrics.registry],
    async collect() {
      this.set((await evaluate()).ready ? 1 : 0);
    },
  });
  new client.Gauge({
    name: 'tickflow_component_up',
    help: '1 while the component is up, 0.5 while degraded, 0 while down',
    labelNames: ['component'] as const,
    registers: [metrics.registry],
    async collect() {
      const { components } = await evaluate();
      this.reset();
      for (const [name, c] of Object.entries(components)) {
        this.set({ component: name }, c.state === 'up' ? 1 : c.state === 'degraded' ? 0.5 : 0);
      }
    },
  });
}

/**
 * How far one consumer group is behind on one partition, in records. `lag` is the processing lag:
 * records not yet processed (for a consumer that commits what it processes, everything after the
 * committed offset). `recoveryDistance` counts records processed but deliberately not committed
 * (the stream processor commits only below its open windows): after a crash they are read again.
 * It grows with window length, not with trouble, so it never counts as being behind.
 */
export interface LagSample {
  readonly topic: string;
  readonly partition: number;
  readonly lag: number;
  readonly recoveryDistance?: number;
}

/** How often sampleLag samples (ms), where it logs, and whether /health shows the group. */
export interface LagSamplerOptions {
  /** Default 5 s. */
  readonly intervalMs?: number;
  readonly logger?: Logger;
  /** When given, /health shows the lag as component `lag:<group>`. */
  readonly health?: HealthRegistry;
  /** Above this many records not yet processed, that component is `degraded` (default 100 000, as the alert rule). */
  readonly degradedAboveRecords?: number;
}

/**
 * A running lag sampler of one consumer group: the latest sample (records per partition), totals, an
 * immediate sample, stop.
 */
export interface LagSampler {
  /** The last successful sample (empty before the first). */
  latest(): readonly LagSample[];
  /** Processing lag: total records not yet processed over all partitions in the last sample. */
  total(): number;
  /** Total records kept for replay after a crash (processed, not committed) in the last sample. */
  recoveryDistance(): number;
  sampleNow(): Promise<void>;
  stop(): void;
}

/**
 * Samples a consumer's processing lag every `intervalMs` into `tickflow_consumer_lag_records` and
 * its recovery distance into `tickflow_consumer_recovery_distance_records`. Partitions
 * the group no longer owns (after a rebalance) are removed from the gauge instead of freezing at
 * their last value. A failed sample is logged and retried at the next tick.
 */
export function sampleLag(consumer: { lag(): Promise<readonly LagSample[]> }, group: string, metrics: Metrics, options: LagSamplerOptions = {}): LagSampler {
  let last: readonly LagSample[] = [];
  let lastError: string | undefined;
  let sampledAt: Date | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const removeSeries = (s: LagSample): void => {
    const labels = { group, topic: s.topic, partition: String(s.partition) };
    metrics.consumerLag.remove(labels);
    metrics.consumerRecoveryDistance.remove(labels);
  };

  const sample = async (): Promise<void> => {
    let current: readonly LagSample[];
    try {
      // A sample's own fields only: a bus consumer's lag() also carries its log `end`, which would
      // otherwise reach /api/pipeline outside the response contract (src/api/contract.ts).
      current = (await consumer.lag()).map(({ topic, partition, lag, recoveryDistance }) =>
        recoveryDistance === undefined ? { topic, partition, lag } : { topic, partition, lag, recoveryDistance },
      );
    } catch (err) {
      lastError = errorMessage(err);
      options.logger?.warn({ group, err: lastError }, 'consumer lag sample failed');
      return;
    }
    lastError = undefined;
    sampledAt = new Date();
    if (stopped) return;
    const seen = new Set(current.map((s) => `${s.topic}/${s.partition}`));
    for (const s of last) {
      if (!seen.has(`${s.topic}/${s.partition}`)) {
        removeSeries(s);
      }
    }
    for (const s of current) {
      const labels = { group, topic: s.topic, partition: String(s.partition) };
      metrics.consumerLag.set(labels, s.lag);
      metrics.consumerRecoveryDistance.set(labels, s.recoveryDistance ?? 0);
    }
    last = current;
  };

  // A slow lag() (broker round trip) must not pile up overlapping samples.
  const sampleNow = (): Promise<void> => {
    running ??= sample().finally(() => {
      running = undefined;
    });
    return running;
  };

  const total = (): number => last.reduce((sum, s) => sum + s.lag, 0);
  const recoveryDistance = (): number => last.reduce((sum, s) => sum + (s.recoveryDistance ?? 0), 0);
  const degradedAbove = options.degradedAboveRecords ?? 100_000;
  // Lag alone never makes a role unready: a consumer catching up after a restart is doing its job.
  options.health?.register(`lag:${group}`, () => {
    const details = {
      group,
      lagRecords: total(),
      recoveryDistanceRecords: recoveryDistance(),
      partitions: last.length,
      sampledAt: sampledAt?.toISOString() ?? null,
    };
    if (lastError !== undefined) return { state: 'degraded', reason: `cannot read consumer lag: ${lastError}`, details };
    // Only what is not yet processed: records held back on purpose for crash recovery are not trouble.
    if (total() > degradedAbove) return { state: 'degraded', reason: `${total()} records not yet processed (more than ${degradedAbove})`, details };
    return { state: 'up', details };
  });

  const timer = setInterval(() => void sampleNow(), options.intervalMs ?? 5_000);
  timer.unref();
  void sampleNow();

  return {
    latest: () => last,
    total,
    recoveryDistance,
    sampleNow,
    stop() {
      stopped = true;
      clearInterval(timer);
      for (const s of last) removeSeries(s);
      last = [];
    },
  };
}
