import { compressionsAlgorithms, crc32c } from '@platformatic/kafka';

/**
 * Kafka's record batch (magic 2, the on-disk and wire format of every produce request since Kafka
 * 0.11; "Record Batch" in the protocol guide, kafka.apache.org/documentation/#recordbatch), written
 * into one Buffer per batch. @platformatic/kafka 1.35 builds a Writer and a list of small Buffers
 * per record and concatenates them (~4 µs per record, a quarter of the ingest role's CPU); this
 * writes the same bytes in two passes over the records — sizes, then the bytes — with no object
 * per record. The records and the batch header are byte for byte what the library writes for the
 * same records (test/bus/kafka/record-batch.test.ts compares them).
 */

/**
 * Bytes; text, written as UTF-8 (a payload the exchange sent as text needs no Buffer of its own);
 * or a non-negative safe integer, written as its decimal digits (the ingestion time header needs
 * neither a string nor a Buffer per record).
 */
export type RecordBytes = Buffer | string | number;

/** One record header: its name and value. */
export type RecordHeader = readonly [key: Buffer, value: RecordBytes];

/** What a record carries: key (the instrument), value and headers. */
export interface BatchRecord {
  readonly key: Buffer;
  readonly value: Buffer | string;
  readonly headers: readonly RecordHeader[];
}

/** The batch fields the idempotent producer decides; timestamps are epoch ms. */
export interface RecordBatchOptions {
  readonly producerId: bigint;
  readonly producerEpoch: number;
  /** The sequence number of the first record (per partition, advanced by the records acknowledged). */
  readonly baseSequence: number;
  /** The create time of every record of the batch, epoch ms. */
  readonly timestampMs: number;
  readonly compression: 'lz4' | 'none';
}

/** baseOffset (8), batchLength (4), partitionLeaderEpoch (4), magic (1), crc (4), then the CRC'd header. */
const CRC_START = 21;
/** attributes (2) lastOffsetDelta (4) baseTimestamp (8) maxTimestamp (8) producerId (8) producerEpoch (2) baseSequence (4) count (4). */
const HEADER_SIZE = CRC_START + 40;
const MAGIC = 2;
/** Attribute bits 0–2: the compression codec (protocol guide: 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd). */
const LZ4 = compressionsAlgorithms.lz4.bitmask;

/**
 * `records` as one record batch (uncompressed records, or lz4 as Kafka frames it), ready to be
 * the `records` field of a produce request. Every record has the batch's timestamp (delta 0) and
 * its position as offset delta, as the library writes records it is given without a timestamp.
 */
export function encodeRecordBatch(records: readonly BatchRecord[], options: RecordBatchOptions): Buffer {
  // Pass 1: each record's body size (its length prefix comes first) and the byte length of each text.
  const bodies: number[] = [];
  const lengths: number[] = [];
  const sized = (value: RecordBytes): number => {
    const n = typeof value === 'number' ? digitCount(value) : typeof value === 'string' ? Buffer.byteLength(value, 'utf8') : value.length;
    lengths.push(n);
    return varIntSize(n) + n;
  };
  let size = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    // attributes and timestampDelta (one byte each), offsetDelta, key, value, header count
    let body = 2 + varIntSize(i) + sized(record.key) + sized(record.value) + varIntSize(record.headers.length);
    for (const [key, value] of record.headers) body += sized(key) + sized(value);
    bodies.push(body);
    size += varIntSize(body) + body;
  }
  // Pass 2: the bytes.
  const plain = Buffer.allocUnsafe(size);
  let at = 0;
  let text = 0;
  for (let i = 0; i < records.length; i++) {
    const record = records[i]!;
    at = writeVarInt(plain, at, bodies[i]!);
    plain[at++] = 0; // attributes: unused
    plain[at++] = 0; // timestampDelta: every record has the batch's time
    at = writeVarInt(plain, at, i);
    at = writeBytes(plain, at, record.key, lengths[text++]!);
    at = writeBytes(plain, at, record.value, lengths[text++]!);
    at = writeVarInt(plain, at, record.headers.length);
    for (const [key, value] of record.headers) {
      at = writeBytes(plain, at, key, lengths[text++]!);
      at = writeBytes(plain, at, value, lengths[text++]!);
    }
  }
  const body = options.compression === 'lz4' ? compressionsAlgorithms.lz4.compressSync(plain) : plain;
  return withHeader(body, records.length, options);
}

function writeBytes(target: Buffer, at: number, value: RecordBytes, length: number): number {
  at = writeVarInt(target, at, length);
  if (typeof value === 'number') writeDigits(target, at + length, value);
  else if (typeof value === 'string') target.write(value, at, length, 'utf8');
  else value.copy(target, at);
  return at + length;
}

/** 10^0 … 10^15: the digit count of a safe integer is the number of these it reaches (16 digits: 10^15 and above). */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);
const EIGHT_DIGITS = 1e8;

function digitCount(value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`a record field must be a non-negative safe integer, not ${value}`);
  let n = 1;
  while (n < POWERS_OF_TEN.length && value >= POWERS_OF_TEN[n]!) n++;
  return n;
}

/**
 * The decimal digits of `value`, ending just before `end`. In int32 steps: an epoch-µs time has 16
 * digits, and dividing a double that large digit by digit cost 3 % of the ingest role's CPU.
 */
function writeDigits(target: Buffer, end: number, value: number): void {
  let at = end;
  const high = Math.floor(value / EIGHT_DIGITS);
  let low = value - high * EIGHT_DIGITS;
  if (high > 0) {
    // The low eight digits in full, leading zeros included.
    for (let i = 0; i < 8; i++) {
      target[--at] = 48 + (low % 10);
      low = (low / 10) | 0;
    }
    low = high;
  }
  do {
    target[--at] = 48 + (low % 10);
    low = (low / 10) | 0;
  } while (low > 0);
}

function withHeader(body: Buffer, count: number, options: RecordBatchOptions): Buffer {
  const batch = Buffer.allocUnsafe(HEADER_SIZE + body.length);
  const timestamp = BigInt(options.timestampMs);
  batch.writeBigInt64BE(0n, 0); // baseOffset: the broker assigns it
  batch.writeInt32BE(batch.length - 12, 8); // length of what follows baseOffset and this field
  batch.writeInt32BE(0, 12); // partitionLeaderEpoch, as the library writes it
  batch.writeInt8(MAGIC, 16);
  batch.writeInt16BE(options.compression === 'lz4' ? LZ4 : 0, CRC_START);
  batch.writeInt32BE(count - 1, 23); // lastOffsetDelta
  batch.writeBigInt64BE(timestamp, 27);
  batch.writeBigInt64BE(timestamp, 35); // maxTimestamp: every record has the batch's time
  batch.writeBigInt64BE(options.producerId, 43);
  batch.writeInt16BE(options.producerEpoch, 51);
  batch.writeInt32BE(options.baseSequence, 53);
  batch.writeInt32BE(count, 57);
  body.copy(batch, HEADER_SIZE);
  batch.writeUInt32BE(crc32c(batch.subarray(CRC_START)), 17);
  return batch;
}

/** Bytes of a zigzag varint of a non-negative int32 (Kafka's record fields are zigzag-encoded). */
function varIntSize(value: number): number {
  let zigzag = value << 1;
  let n = 1;
  while ((zigzag & ~0x7f) !== 0) {
    zigzag >>>= 7;
    n++;
  }
  return n;
}

function writeVarInt(target: Buffer, at: number, value: number): number {
  let zigzag = (value << 1) >>> 0;
  while ((zigzag & ~0x7f) !== 0) {
    target[at++] = (zigzag & 0x7f) | 0x80;
    zigzag >>>= 7;
  }
  target[at++] = zigzag;
  return at;
}
