import { z } from 'zod';
import { timerMs } from '../config/timers.js';
import { httpUrl } from '../config/urls.js';

/**
 * The `sinks` config: a list of publish-only outputs next to the bus (docs/kinesis.md). Each
 * entry's `kind` picks the implementation in src/sinks/registry.ts; every object is strict.
 */

const positiveInt = z.number().int().positive();
const MIB = 1_048_576;

/** Kinesis Data Streams PutRecords quotas ("PutRecords", Kinesis API reference). */
export const KINESIS_LIMITS = {
  /** Records per PutRecords request. */
  records: 500,
  /** Bytes per request, data blobs and partition keys together. */
  requestBytes: 5 * MIB,
  /** Bytes per record, data blob plus partition key. */
  recordBytes: MIB,
} as const;

/**
 * A Kinesis sink entry of the `sinks` key: stream, heartbeat, batching, retry and dead-letter
 * settings, each with its default.
 */
export const kinesisSinkOptions = z.strictObject({
  kind: z.literal('kinesis'),
  /** Names the sink in /health, metrics and the dead-letter file; unique among sinks. */
  name: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'expected 1-64 letters, digits, "_" or "-"' })
    .default('kinesis'),
  /** The data stream records go to; it must exist (tickflow does not create production streams). */
  streamName: z.string().min(1).max(128).default('tickflow-events'),
  /** Heartbeat records go here every `heartbeatIntervalMs`; empty: no heartbeats. */
  heartbeatStreamName: z.string().max(128).default('tickflow-heartbeat'),
  heartbeatIntervalMs: timerMs.default(10_000),
  region: z.string().min(1).default('us-east-1'),
  /** Another endpoint than AWS's regional one: kinesalite, LocalStack, a VPC endpoint. */
  endpoint: httpUrl.optional(),
  /** Record payload: Avro single-object encoding (schemas/avro) or the bus's JSON. */
  codec: z.enum(['avro', 'json']).default('avro'),
  /** A batch is sent when it is full or its oldest record has waited this long. */
  batchMs: timerMs.default(1_000),
  maxBatchRecords: positiveInt.max(KINESIS_LIMITS.records).default(KINESIS_LIMITS.records),
  maxBatchBytes: positiveInt.max(KINESIS_LIMITS.requestBytes).default(KINESIS_LIMITS.requestBytes),
  /** Records held towards Kinesis before publish() waits (back-pressure on the source). */
  maxBufferedRecords: positiveInt.default(50_000),
  /** PutRecords attempts per record, the first included; then the record is a dead letter. */
  maxAttempts: positiveInt.default(10),
  retryInitialMs: timerMs.default(100),
  retryMaxMs: timerMs.default(5_000),
  /** Consecutive failed PutRecords calls that open the circuit breaker. */
  breakerFailures: positiveInt.default(5),
  /** How long an open breaker waits before one half-open probe call. */
  breakerCooldownMs: timerMs.default(10_000),
  /** A PutRecords call without an answer for this long fails (and counts for the breaker). */
  requestTimeoutMs: timerMs.default(10_000),
});

/** A validated Kinesis sink entry. */
export type KinesisSinkOptions = z.infer<typeof kinesisSinkOptions>;

/** One sink entry; a new kind is one more member here plus its registry entry. */
export const sinkOptions = z.discriminatedUnion('kind', [kinesisSinkOptions]);
/** A validated sink entry of any kind. */
export type SinkOptions = z.infer<typeof sinkOptions>;

/** The `sinks` key: off (empty) by default; names must be unique. */
export const sinksOptions = z
  .array(sinkOptions)
  .default([])
  .superRefine((sinks, ctx) => {
    const seen = new Set<string>();
    sinks.forEach((s, i) => {
      if (seen.has(s.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `sink name ${s.name} is used twice; give each sink its own name` });
      seen.add(s.name);
    });
  });
