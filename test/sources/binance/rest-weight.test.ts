import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TickflowError } from '../../../src/core/errors.js';
import { WeightBudget } from '../../../src/sources/binance/rest-weight.js';

function budget(now: { t: number }) {
  return new WeightBudget({ limitPerMinute: 1_000, safeFraction: 0.8, backgroundShare: 0.5, now: () => now.t });
}

test('weight budget: reserves up to the safe share of the limit, background up to its share of that', async () => {
  const now = { t: 120_000 };
  const b = budget(now);
  assert.equal(b.cap('live'), 800);
  assert.equal(b.cap('background'), 400);
  for (let i = 0; i < 40; i++) await b.acquire(10, 'background');
  assert.equal(b.status().used, 400);
  // The next background request must wait for the next minute: it has not resolved yet.
  let done = false;
  const waiting = b.acquire(10, 'background', AbortSignal.timeout(200)).then(() => (done = true));
  await new Promise((r) => setImmediate(r));
  assert.equal(done, false, 'background request waits past its share');
  // Live still has room up to the safe limit.
  await b.acquire(400, 'live');
  assert.equal(b.status().used, 800);
  await waiting; // aborted by its signal, without reserving
  assert.equal(b.status().used, 800);
});

test('weight budget: X-MBX-USED-WEIGHT-1M only raises the count; a new minute resets it', () => {
  const now = { t: 60_000 };
  const b = budget(now);
  b.observe(700);
  assert.equal(b.status().used, 700);
  b.observe(10);
  assert.equal(b.status().used, 700, 'a lower header (an older response) does not undo reservations');
  now.t = 120_001;
  assert.equal(b.status().used, 0);
});

test('weight budget: Retry-After pauses every request; a weight no minute can hold is refused', async () => {
  const now = { t: 60_000 };
  const b = budget(now);
  b.pause(30);
  assert.equal(b.status().pausedUntil, 90_000);
  await assert.rejects(b.acquire(900, 'live'), (err: unknown) => err instanceof TickflowError && err.code === 'TF_REST_REJECTED' && !err.canRetry);
});
