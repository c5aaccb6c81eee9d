import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineEvent } from '../../../src/core/events.js';
import { ErrorCodes, TickflowError } from '../../../src/core/errors.js';
import { AvroCodec, fingerprint, loadSchemas, shippedAvroCodec } from '../../../src/sinks/codecs/avro.js';
import { jsonCodec } from '../../../src/sinks/codecs/json.js';
import { EVERY_KIND } from '../../support/events.js';

test('CRC-64-AVRO fingerprints match the Avro specification test vector', () => {
  // SchemaNormalization.fingerprint64("null") in the Java reference implementation.
  assert.equal(fingerprint('"null"').readBigUInt64LE(), 0x63dd24e7cc258f8an);
});

test('every event kind round-trips through Avro and JSON unchanged: decimals exact, optional fields absent stay absent', () => {
  const avro = shippedAvroCodec();
  for (const codec of [avro, jsonCodec]) {
    for (const event of EVERY_KIND) assert.deepEqual(codec.decode(codec.encode(event)), event, `${codec.name} ${event.type}`);
  }
  // One schema per event kind.
  assert.deepEqual(
    loadSchemas()
      .map((s) => (s as { name: string }).name)
      .sort(),
    ['AggTrade', 'BookSnapshot', 'BookTicker', 'DeadLetter', 'Depth', 'DepthSnapshot', 'Gap', 'Kline', 'Trade'],
  );
});

test('bytes that are not a known Avro record are TF_DECODE errors, never a crash', () => {
  const avro = shippedAvroCodec();
  const good = avro.encode(EVERY_KIND[0]!);
  const unknownWriter = Buffer.from(good);
  unknownWriter[3] = (unknownWriter[3] ?? 0) ^ 0xff;
  for (const bytes of [Buffer.alloc(0), Buffer.from('{"type":"trade"}'), unknownWriter, good.subarray(0, 14)]) {
    assert.throws(
      () => avro.decode(bytes),
      (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.DECODE,
      bytes.toString('hex'),
    );
  }
});

/** The shipped trade schema with one more field, as the next version would add it (with a default). */
function tradeV2(): object {
  const v1 = loadSchemas().find((s) => (s as { name: string }).name === 'Trade') as { fields: object[] };
  return { ...v1, fields: [...v1.fields, { name: 'isBestMatch', type: ['null', 'boolean'], default: null }] };
}

test('schema evolution, new writer → old reader: the field the old reader does not know is skipped', () => {
  const schemas = loadSchemas();
  const newWriter = new AvroCodec(schemas.map((s) => ((s as { name: string }).name === 'Trade' ? tradeV2() : s)));
  const oldReader = new AvroCodec(schemas, [tradeV2()]);
  const written = newWriter.encode({ ...(EVERY_KIND[0] as object), isBestMatch: true } as unknown as PipelineEvent);
  assert.deepEqual(oldReader.decode(written), EVERY_KIND[0]);
});

test('schema evolution, old writer → new reader: the added field takes its default', () => {
  const schemas = loadSchemas();
  const oldWriter = shippedAvroCodec();
  const newReader = new AvroCodec(
    schemas.map((s) => ((s as { name: string }).name === 'Trade' ? tradeV2() : s)),
    [schemas.find((s) => (s as { name: string }).name === 'Trade')!],
  );
  // The default is null, which an event leaves out (undefined), so the decoded event equals the old one.
  assert.deepEqual(newReader.decode(oldWriter.encode(EVERY_KIND[0]!)), EVERY_KIND[0]);
  const withValue = {
    ...tradeV2(),
    fields: [...(tradeV2() as { fields: object[] }).fields.slice(0, -1), { name: 'isBestMatch', type: 'boolean', default: true }],
  };
  const strictReader = new AvroCodec(
    schemas.map((s) => ((s as { name: string }).name === 'Trade' ? withValue : s)),
    [schemas.find((s) => (s as { name: string }).name === 'Trade')!],
  );
  assert.deepEqual(strictReader.decode(oldWriter.encode(EVERY_KIND[0]!)), { ...EVERY_KIND[0], isBestMatch: true });
});

/** A shipped schema as it was before the fields added with defaults (µs times, tradeType, seq): the previous version. */
function withoutAddedFields(schema: object): object {
  const added = new Set(['eventTimeMicros', 'tradeTimeMicros', 'tradeType', 'seq']);
  const s = schema as { fields: { name: string }[] };
  return { ...s, fields: s.fields.filter((f) => !added.has(f.name)) };
}

test('the added fields evolve both ways: a reader of the previous schemas drops them, records of a previous writer read without them', () => {
  const schemas = loadSchemas();
  const isNew = (s: object) => ['DepthSnapshot', 'BookSnapshot'].includes((s as { name: string }).name);
  const previous = schemas.filter((s) => !isNew(s)).map(withoutAddedFields);
  const current = shippedAvroCodec();
  const previousCodec = new AvroCodec(previous);
  const oldReader = new AvroCodec(
    previous,
    schemas.filter((s) => !isNew(s)),
  );
  const added = new Set(['eventTimeMicros', 'tradeTimeMicros', 'tradeType', 'seq']);
  let checked = 0;
  for (const event of EVERY_KIND.filter((e) => Object.keys(e).some((k) => added.has(k)))) {
    const stripped = Object.fromEntries(Object.entries(event).filter(([k]) => !added.has(k))) as unknown as PipelineEvent;
    assert.deepEqual(oldReader.decode(current.encode(event)), stripped, `new writer → old reader, ${event.type}`);
    for (const s of previous) current.learn(s);
    assert.deepEqual(current.decode(previousCodec.encode(stripped)), stripped, `old writer → new reader, ${event.type}`);
    checked++;
  }
  assert.equal(checked, 7);
});
