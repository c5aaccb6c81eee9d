import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PendingRecord, recordBytes, takeBatch } from '../../../src/sinks/kinesis/batch.js';
import { KINESIS_LIMITS } from '../../../src/sinks/options.js';

function record(i: number, size: number, partitionKey = 'binance:spot:BTCUSDT'): PendingRecord {
  const data = Buffer.alloc(size - Buffer.byteLength(partitionKey), i % 256);
  return {
    event: { type: 'deadLetter', origin: 'x', reason: 'y', detail: String(i), raw: '', receivedAt: i },
    data,
    partitionKey,
    bytes: recordBytes(data, partitionKey),
    attempts: 0,
  };
}

const limits = { maxRecords: KINESIS_LIMITS.records, maxBytes: KINESIS_LIMITS.requestBytes };

test('a batch is the longest prefix within 500 records and 5 MiB, partition keys counted; the rest stays queued in order', () => {
  const small = Array.from({ length: 1_203 }, (_, i) => record(i, 100));
  const queue = [...small];
  const sizes: number[] = [];
  while (queue.length > 0) sizes.push(takeBatch(queue, limits).length);
  assert.deepEqual(sizes, [500, 500, 203]);

  // 1 MiB records: five fit 5 MiB exactly, the sixth starts the next batch.
  const big = Array.from({ length: 7 }, (_, i) => record(i, KINESIS_LIMITS.recordBytes));
  const first = takeBatch(big, limits);
  assert.deepEqual(
    first.map((r) => r.event.type === 'deadLetter' && r.event.receivedAt),
    [0, 1, 2, 3, 4],
  );
  assert.equal(
    first.reduce((n, r) => n + r.bytes, 0),
    KINESIS_LIMITS.requestBytes,
  );
  assert.equal(takeBatch(big, limits).length, 2);
  assert.deepEqual(takeBatch(big, limits), []);
});

test('the partition key counts towards the record size in UTF-8 bytes', () => {
  assert.equal(recordBytes(Buffer.alloc(10), 'binance:spot:BTCUSDT'), 30);
  assert.equal(recordBytes(Buffer.alloc(0), 'é'), 2);
});
