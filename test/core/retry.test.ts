import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, TickflowError } from '../../src/core/errors.js';
import { canRetry, retry } from '../../src/core/retry.js';

const retryable = () => new TickflowError(ErrorCodes.STORE_UNAVAILABLE, 'down for now', { canRetry: true });
const permanent = () => new TickflowError(ErrorCodes.STORE_WRITE, 'cannot succeed', { canRetry: false });
// random() = 0: every backoff delay is 0 ms, so the tests never wait on a clock.
const fast = { initialDelayMs: 1_000, maxDelayMs: 10_000, random: () => 0 };

test('canRetry reads the canRetry of a TickflowError and refuses anything else', () => {
  assert.equal(canRetry(retryable()), true);
  assert.equal(canRetry(permanent()), false);
  assert.equal(canRetry(new Error('plain')), false);
  assert.equal(canRetry({ canRetry: true }), false, 'only a TickflowError says whether a retry helps');
  assert.equal(canRetry(undefined), false);
});

test('retryable errors are retried until the operation succeeds', async () => {
  const seen: number[] = [];
  const result = await retry(
    async (attempt) => {
      seen.push(attempt);
      if (attempt < 4) throw retryable();
      return 'done';
    },
    { ...fast, onRetry: () => {} },
  );
  assert.equal(result, 'done');
  assert.deepEqual(seen, [1, 2, 3, 4]);
});

test('an error that cannot succeed ends the loop at the first attempt, unchanged', async () => {
  let calls = 0;
  const err = permanent();
  await assert.rejects(
    retry(async () => {
      calls++;
      throw err;
    }, fast),
    (e) => e === err,
  );
  assert.equal(calls, 1);
});

test('errors without canRetry (a bug, a plain Error) are not retried', async () => {
  let calls = 0;
  await assert.rejects(
    retry(async () => {
      calls++;
      throw new TypeError('x is undefined');
    }, fast),
    TypeError,
  );
  assert.equal(calls, 1);
});

test('a retryable error stops after the attempts allowed and the last one is thrown', async () => {
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls++;
        throw new TickflowError(ErrorCodes.BUS_UNAVAILABLE, `attempt ${calls}`, { canRetry: true });
      },
      { ...fast, attempts: 3 },
    ),
    /attempt 3/,
  );
  assert.equal(calls, 3);
});

test('without an attempt limit only the signal ends a retryable failure', async () => {
  const controller = new AbortController();
  let calls = 0;
  await assert.rejects(
    retry(
      async () => {
        calls++;
        if (calls === 50) controller.abort();
        throw retryable();
      },
      { ...fast, signal: controller.signal },
    ),
    /down for now/,
  );
  assert.equal(calls, 50);
});

test('an abort ends a long wait at once', async () => {
  const controller = new AbortController();
  let calls = 0;
  const run = retry(
    async () => {
      calls++;
      throw retryable();
    },
    // Without the abort the wait would be a day.
    { initialDelayMs: 86_400_000, maxDelayMs: 86_400_000, random: () => 0.999, signal: controller.signal },
  );
  controller.abort();
  await assert.rejects(run, /down for now/);
  assert.ok(calls <= 2, `one attempt before the abort, at most one after it (${calls})`);
});

test('onRetry sees each failure with its attempt and a delay within the capped, doubling bound', async () => {
  const delays: [number, number][] = [];
  await retry(
    async (attempt) => {
      if (attempt <= 6) throw retryable();
    },
    {
      initialDelayMs: 100,
      maxDelayMs: 800,
      // 1% of each bound: the delays trace the doubling cap (100, 200, 400, 800, 800 ms) in ms-short waits.
      random: () => 0.01,
      onRetry: (err, attempt, delayMs) => {
        assert.equal(err.code, ErrorCodes.STORE_UNAVAILABLE);
        delays.push([attempt, delayMs]);
      },
    },
  );
  assert.deepEqual(delays, [
    [1, 1],
    [2, 2],
    [3, 4],
    [4, 8],
    [5, 8],
    [6, 8],
  ]);
});
