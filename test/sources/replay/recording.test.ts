import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { TickflowError } from '../../../src/core/errors.js';
import { readRecording } from '../../../src/sources/replay/recording.js';
import { sharedData } from '../../support/data.js';

test('reads a real gzipped recording line by line with exact timestamps and text', async (t) => {
  const path = sharedData(t, 'binance-spot-ws', 'btcusdt_20240808.gz');
  if (path === undefined) return;
  let count = 0;
  let first: { receivedNs: bigint; raw: string } | undefined;
  let snapshots = 0;
  let previous = 0n;
  for await (const frame of readRecording(path)) {
    first ??= frame;
    count += 1;
    if (!frame.raw.startsWith('{"stream"')) snapshots += 1;
    assert.ok(frame.receivedNs >= previous, 'receive times never go back');
    previous = frame.receivedNs;
  }
  assert.equal(count, 41_249);
  assert.equal(snapshots, 1, 'exactly one REST snapshot line');
  assert.equal(first?.receivedNs, 1_723_161_253_937_085_768n);
  assert.ok(first?.raw.startsWith('{"stream":"btcusdt@depth@100ms","data":{"e":"depthUpdate","E":1723161255208,'));
});

test('plain and gzipped files give the same frames; stopping early is fine', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-rec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const text = '1 {"a":1}\n\n2 {"b":2}\r\n3 {"c":3}';
  await writeFile(join(dir, 'plain.txt'), text);
  await writeFile(join(dir, 'packed.log'), gzipSync(text));
  for (const name of ['plain.txt', 'packed.log']) {
    const frames = [];
    for await (const f of readRecording(join(dir, name))) frames.push(f);
    assert.deepEqual(frames, [
      { receivedNs: 1n, raw: '{"a":1}' },
      { receivedNs: 2n, raw: '{"b":2}' },
      { receivedNs: 3n, raw: '{"c":3}' },
    ]);
  }
  for await (const f of readRecording(join(dir, 'packed.log'))) {
    assert.equal(f.receivedNs, 1n);
    break;
  }
});

test('a missing file or a line without a timestamp is a typed error', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-rec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'bad.txt'), '1 {}\n{"no":"stamp"}\n');
  const drain = async (p: string) => {
    for await (const _ of readRecording(p)) void _;
  };
  await assert.rejects(drain(join(dir, 'missing.gz')), (e) => e instanceof TickflowError && e.code === 'TF_SOURCE_UNREACHABLE');
  await assert.rejects(drain(join(dir, 'bad.txt')), (e) => e instanceof TickflowError && e.code === 'TF_DECODE' && /bad\.txt:2/.test(e.message));
});
