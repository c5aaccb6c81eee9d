import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../../../src/config/schema.js';
import type { GapEvent, PipelineEvent } from '../../../src/core/events.js';
import { silentLogger } from '../../../src/ops/logger.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { ReplaySource } from '../../../src/sources/replay/source.js';
import { tempDir } from '../../support/pipeline.js';

const T0 = 1_723_161_600_000;

/** One recorded line: `<local_receive_ns> <combined-stream aggTrade frame>`, as the hftbacktest recorder writes it. */
function aggTradeLine(receivedMs: number, a: number, f: number, l: number, tradeTime: number): string {
  const data = { e: 'aggTrade', E: tradeTime + 1, s: 'BTCUSDT', a, p: '61000.10', q: '0.002', f, l, T: tradeTime, m: false, M: true };
  return `${BigInt(receivedMs) * 1_000_000n} ${JSON.stringify({ stream: 'btcusdt@aggTrade', data })}`;
}

async function replay(lines: readonly string[], gapGraceMs: number): Promise<PipelineEvent[]> {
  const file = join(tempDir(), 'recording.txt');
  writeFileSync(file, `${lines.join('\n')}\n`);
  const config = configSchema.parse({ source: { kind: `replay:${file}`, streams: ['aggTrade'], gapGraceMs } }).source;
  const source = new ReplaySource({ file, config }, { logger: silentLogger(), metrics: createMetrics() });
  const events: PipelineEvent[] = [];
  await source.start(async (batch) => {
    events.push(...batch);
  });
  await source.finished;
  await source.stop();
  return events;
}

const gaps = (events: readonly PipelineEvent[]) =>
  events.filter((e): e is GapEvent => e.type === 'gap').map((g) => [g.stream, g.firstMissingId, g.lastMissingId]);

test('reordering is not loss (replay): aggTrades of one ms out of id order within source.gapGraceMs of receive time are no gap', async () => {
  // a=11 is received 300 ms after a=12 (recording time): within the 1 000 ms grace.
  const events = await replay(
    [
      aggTradeLine(T0 + 10, 10, 100, 101, T0),
      aggTradeLine(T0 + 11, 12, 104, 104, T0),
      aggTradeLine(T0 + 311, 11, 102, 103, T0),
      aggTradeLine(T0 + 5_000, 13, 105, 105, T0 + 4_000),
    ],
    1_000,
  );
  assert.deepEqual(gaps(events), []);
  assert.deepEqual(events.filter((e) => e.type === 'aggTrade').map((e) => e.type === 'aggTrade' && e.aggTradeId), [10, 12, 11, 13]);
});

test('reordering is not loss (replay): an id still missing after source.gapGraceMs of recording time is a gap with its bounds', async () => {
  // a=11 arrives 2 s (recording time) after a=12 opened the hole: reported as a gap of exactly id 11.
  const events = await replay(
    [
      aggTradeLine(T0 + 10, 10, 100, 101, T0),
      aggTradeLine(T0 + 11, 12, 104, 104, T0),
      aggTradeLine(T0 + 2_011, 13, 105, 105, T0 + 2_000),
      aggTradeLine(T0 + 2_100, 11, 102, 103, T0),
    ],
    1_000,
  );
  assert.deepEqual(gaps(events), [['aggTrade', 11, 11]]);
  // The late id is still delivered: nothing the exchange sent is dropped.
  assert.equal(events.filter((e) => e.type === 'aggTrade').length, 4);
});
