import assert from 'node:assert/strict';
import { test } from 'node:test';
import { processorOptions, quote, runToEnd } from './support.js';

const updates = [quote(1, 1_000, '100.0', '100.2'), quote(2, 2_000, '100.0', '100.1'), quote(3, 29_999, '100.0', '100.6'), quote(4, 30_000, '100.0', '100.1')];

test('spread metrics of one 30 s window, checked by hand', () => {
  const rows = runToEnd(processorOptions({ spreadWarningBps: 100, spreadWarningFactor: 3 }), updates).of('spread_metrics');
  const m = rows.find((r) => r.windowStart === 0);
  assert.ok(m);
  assert.equal(m.interval, '30s');
  assert.equal(m.windowEnd, 30_000);
  assert.equal(m.updateCount, 3, 'the update at 30 000 ms opens the next window');
  assert.equal(m.avgSpread, '0.300000000000');
  assert.equal(m.minSpread, '0.1');
  assert.equal(m.maxSpread, '0.6');
  // mids 100.1, 100.05, 100.3
  assert.equal(m.avgMid, '100.150000000000');
  const bps = ((0.2 / 100.1 + 0.1 / 100.05 + 0.6 / 100.3) * 10_000) / 3;
  assert.ok(Math.abs(m.avgSpreadBps - bps) < 1e-9);
  // avg 0.3 is exactly 3 × min, not more; 29.9 bps < 100 bps.
  assert.equal(m.spreadWarning, false);
});

test('spread warning: average above factor × minimum, or above the bps limit', () => {
  const byFactor = runToEnd(processorOptions({ spreadWarningBps: 100, spreadWarningFactor: 2.9 }), updates).of('spread_metrics');
  assert.equal(byFactor.find((r) => r.windowStart === 0)?.spreadWarning, true);
  const byBps = runToEnd(processorOptions({ spreadWarningBps: 29, spreadWarningFactor: 10 }), updates).of('spread_metrics');
  assert.equal(byBps.find((r) => r.windowStart === 0)?.spreadWarning, true);
});
