import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PipelineEvent } from '../../src/core/events.js';
import { payloadAt, pushWithPayload } from '../../src/core/payloads.js';
import { trade } from '../bus/kafka/helpers.js';
import { btcTradeGap } from '../support/events.js';

const gap = btcTradeGap(2, 2, 1);

test('a payload belongs to its event at its position; plain pushes in between have none', () => {
  const batch: PipelineEvent[] = [];
  const [a, b] = [trade('BTCUSDT', 1), trade('BTCUSDT', 3)];
  batch.push(gap);
  pushWithPayload(batch, a, { text: '{"t":1}', timeUnit: 'MILLISECOND' });
  batch.push(gap);
  pushWithPayload(batch, b, { text: '{"t":3}', timeUnit: 'MILLISECOND' });
  assert.deepEqual(
    batch.map((_, i) => payloadAt(batch, i)?.text),
    [undefined, '{"t":1}', undefined, '{"t":3}'],
  );
  // The batch is still a plain array of events for everyone else.
  assert.deepEqual(batch, [gap, a, gap, b]);
  assert.equal(JSON.stringify(batch), JSON.stringify([gap, a, gap, b]));
});

test("a batch reordered, filtered or copied never hands an event another one's payload", () => {
  const batch: PipelineEvent[] = [];
  const [a, b] = [trade('BTCUSDT', 1), trade('ETHUSDT', 1)];
  pushWithPayload(batch, a, { text: 'A', timeUnit: 'MILLISECOND' });
  pushWithPayload(batch, b, { text: 'B', timeUnit: 'MILLISECOND' });
  batch.reverse();
  assert.deepEqual([payloadAt(batch, 0), payloadAt(batch, 1)], [undefined, undefined]);
  batch.reverse();
  batch.shift();
  assert.equal(payloadAt(batch, 0), undefined);
  const copy = [a, b];
  assert.equal(payloadAt(copy, 0), undefined);
});
