import type { KinesisClientConfig } from '@aws-sdk/client-kinesis';
import type { PipelineEvent } from '../core/events.js';
import type { ComponentHealth } from '../ops/health.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';

/**
 * The output seam: a publish-only destination next to the bus (Kinesis today). Unlike the Bus it
 * has no consumers, groups or commits. Implementations batch, retry and dead-letter on their own;
 * the ingest loop only awaits `publish`.
 */
export interface Sink {
  /** The configured name (unique), shown in /health as `sink:<name>` and in metric labels. */
  readonly name: string;
  readonly kind: string;
  /**
   * Accepts events into the sink's bounded buffer. Resolves once they are buffered; while the
   * buffer is full it resolves late (back-pressure on the source). Never drops: what cannot be
   * delivered after the sink's last retry is a counted dead letter.
   */
  publish(events: readonly PipelineEvent[]): Promise<void>;
  /**
   * At start: asks the destination whether it will take our records. Rejects with TF_SINK_REJECTED
   * for what no retry fixes (no credentials, access denied, no such stream); a destination that is
   * only unreachable is logged and not an error — the sink buffers and its breaker waits.
   */
  check(): Promise<void>;
  /** Resolves once everything published so far was delivered or dead-lettered. */
  flush(): Promise<void>;
  /** Flushes, stops timers and releases connections; publish afterwards is an error. */
  close(): Promise<void>;
  health(): ComponentHealth;
}

/** What every sink constructor takes besides its own options. */
export interface SinkDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** store.dataDir: dead-letter files go under `<dataDir>/dead-letters/`. */
  readonly dataDir: string;
  /**
   * AWS credentials; unset: the AWS SDK's default chain (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY,
   * ~/.aws, the container or instance role), so no AWS secret ever passes through tickflow config.
   */
  readonly awsCredentials?: KinesisClientConfig['credentials'];
}
