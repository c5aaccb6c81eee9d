import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HEAP_GROWING_PERCENT, limitHeapGrowth } from '../../src/ops/heap-growth.js';

test('the heap growth limit is set unless the command line names the flag, which then wins', () => {
  assert.equal(limitHeapGrowth(['--enable-source-maps']), HEAP_GROWING_PERCENT);
  assert.equal(limitHeapGrowth(['--heap-growing-percent=200']), undefined);
  assert.equal(limitHeapGrowth(['--heap-growing-percent', '200']), undefined);
});
