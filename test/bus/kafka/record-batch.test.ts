import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createRecordsBatch, type MessageRecord, NumericMap, Reader, readRecordsBatch } from '@platformatic/kafka';
import { type BatchRecord, encodeRecordBatch, type RecordBytes } from '../../../src/bus/kafka/record-batch.js';

const bytes = (value: RecordBytes): Buffer =>
  typeof value === 'number' ? Buffer.from(String(value)) : typeof value === 'string' ? Buffer.from(value, 'utf8') : value;

const INTEGERS = [0, 7, 10 ** 15 + 5, 100_000_000, 123_456_789, Number.MAX_SAFE_INTEGER - 1_723_161_255_500_000];

/** Records as the ingest role makes them, plus the edges of the format: multi-byte text, 2- and 3-byte varints, no headers, one-digit integers. */
function records(n: number): BatchRecord[] {
  const key = Buffer.from('binance:spot:BTCUSDT');
  const type = [Buffer.from('tickflow-type'), Buffer.from('trade')] as const;
  return Array.from({ length: n }, (_, i) => ({
    key,
    value: i % 7 === 3 ? `{"s":"BTCUSDT","note":"€ ${'x'.repeat(i % 300)}"}` : Buffer.from(`{"e":"trade","t":${i},"p":"61837.63000000"}`),
    // Integers are written as their digits: 0, one digit, zeros inside, 9 digits, 2^53 − 1, and the 16 of an epoch-µs time.
    headers: i % 11 === 5 ? [] : [type, [Buffer.from('tickflow-ingested'), INTEGERS[i % INTEGERS.length]! + (i % 7 === 0 ? 0 : 1_723_161_255_400_000 + i)]],
  }));
}

/** The same records as the library's own encoder takes them. */
function libraryBatch(input: readonly BatchRecord[], timestampMs: number, compression: 'lz4' | 'none', baseSequence: number): Buffer {
  const messages: MessageRecord[] = input.map((r) => ({
    topic: 't',
    partition: 0,
    key: r.key,
    value: bytes(r.value),
    headers: new Map(r.headers.map(([k, v]) => [k, bytes(v)])),
    timestamp: BigInt(timestampMs),
  }));
  const sequences = new NumericMap();
  sequences.set('t:0', baseSequence);
  return createRecordsBatch(messages, { compression, producerId: 4711n, producerEpoch: 3, sequences }).buffer;
}

test('a record batch is byte for byte what @platformatic/kafka writes for the same records, uncompressed and lz4', () => {
  for (const n of [1, 2, 200, 20_000]) {
    const input = records(n);
    for (const compression of ['none', 'lz4'] as const) {
      const ours = encodeRecordBatch(input, { producerId: 4711n, producerEpoch: 3, baseSequence: 9_000, timestampMs: 1_723_161_255_400, compression });
      assert.ok(ours.equals(libraryBatch(input, 1_723_161_255_400, compression, 9_000)), `${n} records, ${compression}`);
    }
  }
});

test('a header value that is not a non-negative safe integer is refused, not written as something else', () => {
  for (const bad of [-1, 1.5, 2 ** 53, Number.NaN]) {
    const record: BatchRecord = { key: Buffer.from('k'), value: 'v', headers: [[Buffer.from('h'), bad]] };
    assert.throws(
      () => encodeRecordBatch([record], { producerId: 1n, producerEpoch: 0, baseSequence: 0, timestampMs: 1, compression: 'none' }),
      RangeError,
      String(bad),
    );
  }
});

test("a record batch reads back with the library's reader: every key, value and header, the producer fields and the sequence", () => {
  const input = records(500);
  const batch = readRecordsBatch(
    Reader.from(encodeRecordBatch(input, { producerId: 77n, producerEpoch: 1, baseSequence: 42, timestampMs: 1_000, compression: 'lz4' })),
  );
  assert.equal(batch.producerId, 77n);
  assert.equal(batch.producerEpoch, 1);
  assert.equal(batch.firstSequence, 42);
  assert.equal(batch.lastOffsetDelta, 499);
  assert.equal(batch.firstTimestamp, 1_000n);
  assert.equal(batch.records.length, 500);
  batch.records.forEach((record, i) => {
    const want = input[i]!;
    assert.equal(record.offsetDelta, i);
    assert.ok(record.key?.equals(want.key));
    assert.ok(record.value?.equals(bytes(want.value)), `value ${i}`);
    assert.deepEqual(
      record.headers.map(([k, v]) => [k?.toString(), v?.toString()]),
      want.headers.map(([k, v]) => [k.toString(), bytes(v).toString()]),
    );
  });
});
