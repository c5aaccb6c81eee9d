import { type KinesisClient, PutRecordsCommand, type PutRecordsCommandOutput } from '@aws-sdk/client-kinesis';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import type { PendingRecord } from './batch.js';

/**
 * Why a PutRecords call or one of its records failed, as a bounded set (metric labels, dead-letter
 * reasons): `throttled` (ProvisionedThroughputExceededException, LimitExceededException),
 * `internal_failure` (a record's InternalFailure), `http_5xx`, `network` (refused, reset, DNS),
 * `timeout`, `rejected` (a request Kinesis will never accept: missing stream, access denied,
 * validation), `record_failed` (any other per-record code, e.g. KMS), `breaker_open` (still open at
 * shutdown).
 */
export type FailureReason = 'throttled' | 'internal_failure' | 'http_5xx' | 'network' | 'timeout' | 'rejected' | 'record_failed' | 'breaker_open';

/** A failed PutRecords call or batch; `canRetry` says whether sending the same records again can help. */
export class SinkSendError extends TickflowError {
  constructor(
    readonly reason: FailureReason,
    message: string,
    options: { cause?: unknown; canRetry: boolean },
  ) {
    super(options.canRetry ? ErrorCodes.SINK_UNAVAILABLE : ErrorCodes.SINK_REJECTED, message, options);
  }
}

/** A record a PutRecords call did not take, with why (`throttled`, `internal_failure`, …) and the detail Kinesis gave. */
export interface FailedRecord {
  readonly record: PendingRecord;
  readonly reason: FailureReason;
  readonly detail: string;
}

/**
 * One PutRecords call. Resolves with the records Kinesis did not take (a partial failure: the
 * response's `Records[i].ErrorCode`, in request order); throws SinkSendError when the call as a
 * whole failed, in which case none of the records was taken (or, after a timeout, possibly all:
 * Kinesis delivery is at least once).
 */
export async function putRecords(client: KinesisClient, streamName: string, records: readonly PendingRecord[]): Promise<FailedRecord[]> {
  let response: PutRecordsCommandOutput;
  try {
    response = await client.send(
      new PutRecordsCommand({ StreamName: streamName, Records: records.map((r) => ({ Data: r.data, PartitionKey: r.partitionKey })) }),
    );
  } catch (err) {
    throw classify(err);
  }
  if ((response.FailedRecordCount ?? 0) === 0) return [];
  const failed: FailedRecord[] = [];
  (response.Records ?? []).forEach((entry, i) => {
    const record = records[i];
    if (entry.ErrorCode === undefined || record === undefined) return;
    failed.push({ record, reason: recordReason(entry.ErrorCode), detail: `${entry.ErrorCode}: ${entry.ErrorMessage ?? ''}` });
  });
  return failed;
}

function recordReason(code: string): FailureReason {
  if (code === 'ProvisionedThroughputExceededException') return 'throttled';
  if (code === 'InternalFailure') return 'internal_failure';
  return 'record_failed';
}

const THROTTLING = new Set(['ProvisionedThroughputExceededException', 'LimitExceededException', 'ThrottlingException']);
const NETWORK = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

/** The SDK's error as a SinkSendError: throttling, 5xx, network and timeouts can be retried. */
export function classify(err: unknown, call = 'PutRecords'): SinkSendError {
  const e = err as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
  const name = e.name ?? 'Error';
  const status = e.$metadata?.httpStatusCode;
  const message = `${call} failed: ${name}${status !== undefined ? ` (HTTP ${status})` : ''}: ${e.message ?? String(err)}`;
  const retryable = (reason: FailureReason) => new SinkSendError(reason, message, { cause: err, canRetry: true });
  if (THROTTLING.has(name)) return retryable('throttled');
  // Before the timeout test: the SDK names a reset connection (ECONNRESET, EPIPE) a TimeoutError too.
  if ((e.code !== undefined && NETWORK.has(e.code)) || /socket hang up/i.test(e.message ?? '')) return retryable('network');
  if (name === 'TimeoutError' || e.code === 'ETIMEDOUT' || name === 'RequestTimeout') return retryable('timeout');
  if (status !== undefined && status >= 500) return retryable('http_5xx');
  return new SinkSendError('rejected', message, { cause: err, canRetry: false });
}
