import type { PipelineEvent } from '../../core/events.js';

/** One event on its way to Kinesis: encoded once, retried as is. */
export interface PendingRecord {
  readonly event: PipelineEvent;
  readonly data: Buffer;
  readonly partitionKey: string;
  /** Data plus partition key in bytes: what the PutRecords quotas count. */
  readonly bytes: number;
  /** PutRecords calls that carried this record so far. */
  attempts: number;
}

/** PutRecords quotas of one call: records and bytes (data plus partition key). */
export interface BatchLimits {
  readonly maxRecords: number;
  readonly maxBytes: number;
}

/** Bytes a record counts for in the PutRecords quotas: the data blob and the UTF-8 partition key. */
export function recordBytes(data: Buffer, partitionKey: string): number {
  return data.length + Buffer.byteLength(partitionKey, 'utf8');
}

/**
 * Removes and returns the longest prefix of `queue` that fits one PutRecords request. Taking a
 * prefix keeps the queue's order, so records of one partition key are sent in the order they were
 * published. Every record is at most one request's size (oversized ones never enter the queue), so
 * a non-empty queue always yields at least one record.
 */
export function takeBatch(queue: PendingRecord[], limits: BatchLimits): PendingRecord[] {
  let count = 0;
  let bytes = 0;
  for (const record of queue) {
    if (count === limits.maxRecords || (count > 0 && bytes + record.bytes > limits.maxBytes)) break;
    count++;
    bytes += record.bytes;
  }
  return queue.splice(0, count);
}
