import { DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { BREAKER_GAUGE, CircuitBreaker } from '../../core/circuit-breaker.js';
import { ErrorCodes, errorMessage, TickflowError } from '../../core/errors.js';
import { eventKey, type PipelineEvent } from '../../core/events.js';
import { retry, sleep } from '../../core/retry.js';
import type { ComponentHealth } from '../../ops/health.js';
import type { Logger } from '../../ops/logger.js';
import { shippedAvroCodec } from '../codecs/avro.js';
import type { Codec } from '../codecs/codec.js';
import { jsonCodec } from '../codecs/json.js';
import { DeadLetterFile, deadLetterPath } from '../dead-letter-file.js';
import { KINESIS_LIMITS, type KinesisSinkOptions } from '../options.js';
import type { Sink, SinkDeps } from '../sink.js';
import { type PendingRecord, recordBytes, takeBatch } from './batch.js';
import { createKinesisClient } from './client.js';
import { sendHeartbeat } from './heartbeat.js';
import { classify, type FailureReason, putRecords, SinkSendError } from './put-records.js';
import { Signal } from './signal.js';

/** At most one 'records dead-lettered' line per reason in this long (ms). */
const DEAD_LETTER_LOG_EVERY_MS = 60_000;
/**
 * Events to an AWS Kinesis data stream with PutRecords (docs/kinesis.md). publish() encodes and
 * buffers (bounded: it waits while full); one send loop takes batches off the buffer in publish
 * order — at most maxBatchRecords / maxBatchBytes, or whatever is there once the oldest record is
 * batchMs old — and sends them one call at a time, so records of one partition key (the instrument
 * key) reach their shard in order as long as nothing is retried. Failed records, and only those,
 * are retried with backoff; a circuit breaker pauses sending while Kinesis is down; what is still
 * failing after maxAttempts goes to the dead-letter file.
 */
export class KinesisSink implements Sink {
  readonly kind = 'kinesis';
  readonly name: string;
  private readonly client: KinesisClient;
  private readonly codec: Codec;
  private readonly breaker: CircuitBreaker;
  private readonly deadLetters: DeadLetterFile;
  private readonly log: Logger;
  private readonly queue: PendingRecord[] = [];
  /** Oldest queued record's arrival, ms (Date.now): starts the batchMs clock. */
  private oldestAt = 0;
  private inFlight = 0;
  private flushes = 0;
  private closing = false;
  private readonly stopWaiting = new AbortController();
  private readonly queued = new Signal();
  private readonly drained = new Signal();
  private readonly heartbeat: NodeJS.Timeout | undefined;
  private readonly loop: Promise<void>;
  private readonly counts = { sent: 0, deadLetters: 0, lastError: null as string | null, lastErrorAt: null as number | null };
  /** Set while the dead-letter file refuses writes: the sink holds records it can neither send nor set aside. */
  private deadLetterFileError: string | null = null;
  /** Set while Kinesis refuses requests for good (missing stream, access denied): everything is dead-lettered. */
  private rejecting: string | null = null;
  /**
   * Dead-letter log lines per reason: the first at once, then one a minute with the records in
   * between — a refusal that lasts (no credentials, no stream) dead-letters every batch, and a line
   * per batch would bury every other log line. Counts and metrics are per record regardless.
   */
  private readonly deadLetterLog = new Map<string, { at: number; records: number; batches: number }>();

  constructor(
    private readonly options: KinesisSinkOptions,
    private readonly deps: SinkDeps,
  ) {
    this.name = options.name;
    this.log = deps.logger.child({ component: 'sink', sink: options.name });
    this.client = createKinesisClient(options, deps.awsCredentials);
    this.codec = options.codec === 'avro' ? shippedAvroCodec() : jsonCodec;
    this.breaker = new CircuitBreaker({
      failureThreshold: options.breakerFailures,
      cooldownMs: options.breakerCooldownMs,
      onChange: (state) => {
        deps.metrics.sinkBreakerState.set({ sink: this.name }, BREAKER_GAUGE[state]);
        this.log.warn({ state }, `circuit breaker ${state}`);
      },
    });
    deps.metrics.sinkBreakerState.set({ sink: this.name }, 0);
    this.deadLetters = new DeadLetterFile(deadLetterPath(deps.dataDir, options.name));
    if (options.heartbeatStreamName !== '') {
      this.heartbeat = setInterval(() => void this.beat(), options.heartbeatIntervalMs);
      this.heartbeat.unref();
    }
    this.loop = this.sendLoop();
  }

  async publish(events: readonly PipelineEvent[]): Promise<void> {
    if (this.closing) throw new TickflowError(ErrorCodes.SHUTDOWN, `sink ${this.name} is closed`);
    const tooLarge: PendingRecord[] = [];
    const unencodable: { record: PendingRecord; detail: string }[] = [];
    for (const event of events) {
      let record: PendingRecord;
      try {
        record = this.encode(event);
      } catch (err) {
        // An event type the codec has no schema for: kept (as JSON in the letter), never thrown at the source.
        unencodable.push({ record: { event, data: Buffer.alloc(0), partitionKey: eventKey(event), bytes: 0, attempts: 0 }, detail: errorMessage(err) });
        continue;
      }
      if (record.bytes > KINESIS_LIMITS.recordBytes || record.bytes > this.options.maxBatchBytes) tooLarge.push(record);
      else {
        if (this.queue.length === 0) this.oldestAt = Date.now();
        this.queue.push(record);
      }
    }
    this.updateBuffered();
    this.queued.notify();
    const limit = Math.min(KINESIS_LIMITS.recordBytes, this.options.maxBatchBytes);
    if (tooLarge.length > 0) await this.deadLetter(tooLarge, 'record_too_large', `record over ${limit} bytes (data + partition key)`);
    for (const { record, detail } of unencodable) await this.deadLetter([record], 'encode_failed', detail);
    while (this.queue.length >= this.options.maxBufferedRecords && !this.closing) await this.drained.wait();
  }

  /**
   * DescribeStreamSummary of the data stream and the heartbeat stream. Without it a sink with no
   * credentials or a misspelt stream dead-lettered every record for as long as it ran, its only sign
   * a degraded /health.
   */
  async check(): Promise<void> {
    const streams = [this.options.streamName, this.options.heartbeatStreamName].filter((s) => s !== '');
    for (const stream of streams) {
      try {
        await this.client.send(new DescribeStreamSummaryCommand({ StreamName: stream }));
      } catch (err) {
        const e = classify(err, 'DescribeStreamSummary');
        if (e.canRetry) {
          this.log.warn({ stream, err: e.message }, 'Kinesis unreachable at start; records are buffered and sent once it answers');
          continue;
        }
        throw new TickflowError(
          ErrorCodes.SINK_REJECTED,
          `sink ${this.name}: Kinesis refuses stream "${stream}" (region ${this.options.region}${this.options.endpoint !== undefined ? `, endpoint ${this.options.endpoint}` : ''}): ${e.message}. ` +
            'Check the AWS credentials (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, the instance role), the region and that the stream exists.',
          { cause: err },
        );
      }
    }
  }

  async flush(): Promise<void> {
    this.flushes++;
    this.queued.notify();
    try {
      while (this.queue.length > 0 || this.inFlight > 0) await this.drained.wait();
    } finally {
      this.flushes--;
    }
  }

  /**
   * Sends what is buffered without waiting for batchMs; records still failing when their attempts
   * run out, or found behind an open breaker (no cool-down is waited out at shutdown), are
   * dead-lettered, so close() ends within the retry budget even while Kinesis is down.
   */
  async close(): Promise<void> {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.closing = true;
    this.stopWaiting.abort();
    this.queued.notify();
    this.drained.notify();
    await this.loop;
    this.client.destroy();
  }

  health(): ComponentHealth {
    const details = {
      kind: this.kind,
      stream: this.options.streamName,
      codec: this.codec.name,
      breaker: this.breaker.state,
      buffered: this.queue.length + this.inFlight,
      sent: this.counts.sent,
      deadLetters: this.counts.deadLetters,
      deadLetterFile: this.deadLetters.path,
      lastError: this.counts.lastError,
      lastErrorAt: this.counts.lastErrorAt,
    };
    // An open breaker degrades the sink, not the pipeline: records wait (bounded) or are dead-lettered.
    if (this.deadLetterFileError !== null) return { state: 'down', reason: this.deadLetterFileError, details };
    if (this.rejecting !== null)
      return { state: 'degraded', reason: `Kinesis refuses the records, which go to the dead-letter file: ${this.rejecting}`, details };
    if (this.breaker.state === 'closed') return { state: 'up', details };
    return {
      state: 'degraded',
      reason: `Kinesis stream ${this.options.streamName} unreachable, circuit breaker ${this.breaker.state}: ${this.counts.lastError ?? ''}`,
      details,
    };
  }

  private encode(event: PipelineEvent): PendingRecord {
    const data = this.codec.encode(event);
    const partitionKey = eventKey(event);
    return { event, data, partitionKey, bytes: recordBytes(data, partitionKey), attempts: 0 };
  }

  /** Takes batches off the queue, one PutRecords exchange at a time, until closed and empty. */
  private async sendLoop(): Promise<void> {
    for (;;) {
      if (this.queue.length === 0) {
        this.drained.notify();
        if (this.closing) return;
        await this.queued.wait();
        continue;
      }
      const waitMs = this.oldestAt + this.options.batchMs - Date.now();
      if (this.queue.length < this.options.maxBatchRecords && this.flushes === 0 && !this.closing && waitMs > 0) {
        await this.queued.wait(waitMs);
        continue;
      }
      const batch = takeBatch(this.queue, { maxRecords: this.options.maxBatchRecords, maxBytes: this.options.maxBatchBytes });
      this.oldestAt = Date.now();
      this.inFlight = batch.length;
      await this.deliver(batch);
      this.inFlight = 0;
      this.updateBuffered();
      this.drained.notify();
    }
  }

  /** Sends a batch until every record is accepted or, after the last attempt, dead-lettered. */
  private async deliver(batch: PendingRecord[]): Promise<void> {
    const { metrics } = this.deps;
    let pending = batch;
    try {
      await retry(
        async () => {
          if (!(await this.breaker.admit(this.stopWaiting.signal))) {
            throw new SinkSendError('breaker_open', 'circuit breaker open at shutdown', { canRetry: false });
          }
          metrics.sinkBatchRecords.observe({ sink: this.name }, pending.length);
          metrics.sinkBatchBytes.observe(
            { sink: this.name },
            pending.reduce((n, r) => n + r.bytes, 0),
          );
          for (const r of pending) r.attempts++;
          let failed: Awaited<ReturnType<typeof putRecords>>;
          try {
            failed = await putRecords(this.client, this.options.streamName, pending);
          } catch (err) {
            // A refusal (missing stream, access denied) is answered promptly: the endpoint is up, so it
            // does not open the breaker, which would slow dead-lettering to one batch per cool-down
            // and stall ingest behind a configuration error.
            if (err instanceof SinkSendError && !err.canRetry) this.rejecting = err.message;
            else this.breaker.failure();
            throw err;
          }
          this.rejecting = null;
          this.breaker.success();
          this.accepted(pending.length - failed.length);
          const first = failed[0];
          if (first === undefined) return;
          const sent = pending.length;
          pending = failed.map((f) => f.record);
          throw new SinkSendError(first.reason, `${failed.length} of ${sent} records failed, e.g. ${first.detail}`, { canRetry: true });
        },
        {
          attempts: this.options.maxAttempts,
          initialDelayMs: this.options.retryInitialMs,
          maxDelayMs: this.options.retryMaxMs,
          onRetry: (err) => {
            this.failed(err);
            metrics.sinkRecords.inc({ sink: this.name, outcome: 'retried' }, pending.length);
          },
        },
      );
    } catch (err) {
      const reason: FailureReason | 'send_failed' = err instanceof SinkSendError ? err.reason : 'send_failed';
      this.failed(err);
      await this.deadLetter(pending, reason, errorMessage(err));
    }
  }

  private accepted(n: number): void {
    this.counts.sent += n;
    this.deps.metrics.sinkRecords.inc({ sink: this.name, outcome: 'sent' }, n);
  }

  private failed(err: unknown): void {
    const reason = err instanceof SinkSendError ? err.reason : 'send_failed';
    this.deps.metrics.sinkFailures.inc({ sink: this.name, reason });
    this.noteError(errorMessage(err));
  }

  private noteError(message: string): void {
    this.counts.lastError = message;
    this.counts.lastErrorAt = Date.now();
  }

  /**
   * Appends the records to the dead-letter file, retrying until the file takes them: a full or
   * read-only disk stops the sink (back-pressure, health shows why) rather than losing records.
   */
  private async deadLetter(records: readonly PendingRecord[], reason: string, detail: string): Promise<void> {
    const at = Date.now();
    const letters = records.map((r) => ({
      at,
      sink: this.name,
      destination: this.options.streamName,
      reason,
      detail,
      attempts: r.attempts,
      partitionKey: r.partitionKey,
      data: r.data.toString('base64'),
      codec: this.codec.name,
      event: r.event,
    }));
    for (;;) {
      try {
        await this.deadLetters.append(letters);
        this.deadLetterFileError = null;
        break;
      } catch (err) {
        this.deadLetterFileError = `dead-letter file ${this.deadLetters.path} not writable: ${errorMessage(err)}`;
        this.noteError(this.deadLetterFileError);
        this.log.error({ err: errorMessage(err), records: records.length }, 'dead-letter file not writable; retrying');
        await sleep(this.options.retryMaxMs);
      }
    }
    this.counts.deadLetters += records.length;
    this.deps.metrics.sinkDeadLetters.inc({ sink: this.name, reason }, records.length);
    this.deps.metrics.sinkRecords.inc({ sink: this.name, outcome: 'dead_letter' }, records.length);
    const last = this.deadLetterLog.get(reason);
    if (last !== undefined && at - last.at < DEAD_LETTER_LOG_EVERY_MS) {
      last.records += records.length;
      last.batches += 1;
      return;
    }
    const since = last === undefined ? {} : { recordsSinceLastLine: last.records, batchesSinceLastLine: last.batches };
    this.deadLetterLog.set(reason, { at, records: 0, batches: 0 });
    this.log.error({ records: records.length, reason, detail, file: this.deadLetters.path, ...since }, 'records dead-lettered');
  }

  /** One heartbeat; skipped while the breaker is open (the endpoint is known to be down). */
  private async beat(): Promise<void> {
    if (this.breaker.state === 'open') return;
    try {
      await sendHeartbeat(this.client, this.options.heartbeatStreamName, {
        type: 'heartbeat',
        sink: this.name,
        stream: this.options.streamName,
        at: Date.now(),
        sent: this.counts.sent,
        deadLetters: this.counts.deadLetters,
        buffered: this.queue.length + this.inFlight,
        breaker: this.breaker.state,
      });
      this.deps.metrics.sinkHeartbeats.inc({ sink: this.name, outcome: 'sent' });
    } catch (err) {
      this.deps.metrics.sinkHeartbeats.inc({ sink: this.name, outcome: 'failed' });
      this.log.warn({ err: errorMessage(err) }, 'heartbeat failed');
    }
  }

  private updateBuffered(): void {
    this.deps.metrics.sinkBuffered.set({ sink: this.name }, this.queue.length + this.inFlight);
  }
}
