import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BreakerState, CircuitBreaker } from '../../src/core/circuit-breaker.js';

test('the breaker opens after N consecutive failures, lets one probe through after the cool-down, and closes on its success', async () => {
  const changes: BreakerState[] = [];
  const breaker = new CircuitBreaker({ failureThreshold: 3, cooldownMs: 20, onChange: (s) => changes.push(s) });
  breaker.failure();
  breaker.success(); // a success in between resets the count
  breaker.failure();
  breaker.failure();
  assert.equal(breaker.state, 'closed');
  breaker.failure();
  assert.equal(breaker.state, 'open');
  assert.equal(await breaker.admit(), true, 'admitted once the cool-down is over');
  assert.equal(breaker.state, 'halfOpen');
  breaker.failure(); // a failed probe opens it again at once
  assert.equal(breaker.state, 'open');
  await breaker.admit();
  breaker.success();
  assert.equal(breaker.state, 'closed');
  assert.deepEqual(changes, ['open', 'halfOpen', 'open', 'halfOpen', 'closed']);
});

test('an aborted wait on an open breaker returns false without a probe', async () => {
  const breaker = new CircuitBreaker({ failureThreshold: 1, cooldownMs: 3_600_000 });
  breaker.failure();
  const stop = new AbortController();
  const admitted = breaker.admit(stop.signal);
  stop.abort();
  assert.equal(await admitted, false);
  assert.equal(breaker.state, 'open');
});
