import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertEngine, type StateProbe } from '../../src/alerts/engine.js';
import { configSchema, type AlertRule } from '../../src/config/schema.js';
import type { WhaleSignal } from '../../src/core/signals.js';
import { BTC, NO_TROUBLE, spreadWindow, T0 } from '../support/alerts.js';

const ETH = { ...BTC, symbol: 'ETHUSDT' };

function rule(r: Partial<AlertRule> & Pick<AlertRule, 'name' | 'condition' | 'threshold'>): AlertRule {
  return configSchema.parse({ alerts: { rules: [r] } }).alerts.rules[0] as AlertRule;
}

/** An engine whose clock the test moves. */
function clocked(rules: AlertRule[]) {
  let now = T0;
  const engine = new AlertEngine(rules, () => now);
  return { engine, at: (ms: number) => (now = ms) };
}

test('a window condition fires only after holding for `for`, states its threshold, resolves once, and per-symbol thresholds apply', () => {
  const { engine, at } = clocked([rule({ name: 'spread-wide', condition: 'spread', threshold: 10, thresholds: { ETHUSDT: 50 }, for: 60_000 })]);
  const seen: string[] = [];
  const step = (start: number, btc: number, eth: number) => {
    at(start + 40_000);
    engine.observe(spreadWindow(BTC, start, btc));
    engine.observe(spreadWindow(ETH, start, eth));
    for (const t of engine.evaluate(NO_TROUBLE)) seen.push(`${t.state} ${t.instrument?.symbol} ${t.message}`);
  };
  step(T0, 12, 20); // BTC breaches (held 30 s); ETH is under its own 50 bps
  assert.deepEqual(seen, []);
  assert.deepEqual(
    engine.active().map((a) => [a.state, a.instrument?.symbol]),
    [['pending', 'BTCUSDT']],
  );
  step(T0 + 30_000, 15, 20); // held 60 s: fires
  assert.equal(seen.length, 1);
  assert.match(seen[0] ?? '', /^firing BTCUSDT spread-wide firing on BTCUSDT .*average spread 15\.00 bps \(threshold 10\.00 bps for 1m\)$/);
  step(T0 + 60_000, 14, 20); // still firing: nothing new
  assert.equal(seen.length, 1);
  step(T0 + 90_000, 2, 20); // clears
  assert.equal(seen.length, 2);
  assert.match(seen[1] ?? '', /^resolved BTCUSDT/);
  step(T0 + 120_000, 2, 20);
  assert.equal(seen.length, 2);
});

test('a breach shorter than `for` never fires; noData ok resolves quiet windows, noData alerting fires on them', () => {
  const { engine, at } = clocked([
    rule({ name: 'quiet-ok', condition: 'spread', threshold: 10, for: 60_000, noData: 'ok', noDataAfter: 90_000 }),
    rule({ name: 'quiet-alerting', condition: 'spread', threshold: 10, for: 60_000, noData: 'alerting', noDataAfter: 90_000 }),
  ]);
  at(T0 + 30_000);
  engine.observe(spreadWindow(BTC, T0, 20));
  assert.deepEqual(engine.evaluate(NO_TROUBLE), []);
  at(T0 + 60_000);
  engine.observe(spreadWindow(BTC, T0 + 30_000, 1));
  assert.deepEqual(engine.evaluate(NO_TROUBLE), []);
  assert.deepEqual(engine.active(), []);
  // No window for 90 s: "ok" stays quiet; "alerting" starts a run then and fires `for` later.
  at(T0 + 60_000 + 91_000);
  assert.deepEqual(engine.evaluate(NO_TROUBLE), []);
  assert.deepEqual(
    engine.active().map((a) => [a.rule, a.state]),
    [['quiet-alerting', 'pending']],
  );
  at(T0 + 60_000 + 150_000);
  const fired = engine.evaluate(NO_TROUBLE);
  assert.deepEqual(
    fired.map((t) => [t.rule.name, t.state, t.value]),
    [['quiet-alerting', 'firing', null]],
  );
  assert.match(fired[0]?.message ?? '', /no data/);
});

test('whale: an event holds for `within`; the same run is one alert, keyed by its first trade time (a replay gives the same key)', () => {
  const whale = (time: number, notional: string): WhaleSignal => ({
    type: 'signal',
    kind: 'whale',
    ...BTC,
    time,
    tradeId: time,
    price: '60000',
    quantity: '1',
    notional,
    side: 'buy',
    threshold: '100000',
  });
  const rules = [rule({ name: 'whale', condition: 'whale', threshold: 1_000_000, for: 0, within: 60_000 })];
  const run = () => {
    const { engine, at } = clocked(rules);
    const out: string[] = [];
    for (const [time, notional] of [
      [T0, '500000'],
      [T0 + 1_000, '2000000'],
      [T0 + 20_000, '3000000'],
      [T0 + 200_000, '1500000'],
    ] as const) {
      at(time);
      engine.observe(whale(time, notional));
      for (const t of engine.evaluate(NO_TROUBLE)) out.push(`${t.state}@${t.activeAt}:${t.idempotencyKey.slice(0, 8)}`);
    }
    at(T0 + 300_000);
    for (const t of engine.evaluate(NO_TROUBLE)) out.push(`${t.state}@${t.activeAt}:${t.idempotencyKey.slice(0, 8)}`);
    return out;
  };
  const first = run();
  assert.deepEqual(
    first.map((s) => s.split(':')[0]),
    [`firing@${T0 + 1_000}`, `resolved@${T0 + 1_000}`, `firing@${T0 + 200_000}`, `resolved@${T0 + 200_000}`],
  );
  assert.deepEqual(run(), first);
});

test('state conditions: disconnected connections fire after `for` and resolve; unknown state follows noData; restored alerts are not announced again', () => {
  const rules = [rule({ name: 'source-down', condition: 'sourceDisconnected', threshold: 0, for: 5_000, repeat: 60_000 })];
  const { engine, at } = clocked(rules);
  const probe = (state: number | null): StateProbe => ({ ...NO_TROUBLE, sourceDisconnected: state === null ? null : [{ key: 'binance-0', value: state }] });
  at(T0);
  assert.deepEqual(engine.evaluate(probe(1)), []);
  at(T0 + 5_000);
  const fired = engine.evaluate(probe(1));
  assert.deepEqual(
    fired.map((t) => [t.state, t.key, t.activeAt]),
    [['firing', 'binance-0', T0]],
  );
  at(T0 + 65_000);
  assert.deepEqual(
    engine.evaluate(probe(1)).map((t) => t.state),
    ['repeat'],
  );

  // A new engine (a restart) with the firing alert restored: still down → nothing; back up → resolved with the same run's key.
  const restarted = clocked(rules);
  restarted.engine.restore([
    { rule: 'source-down', key: 'binance-0', instrument: undefined, value: 1, threshold: 0, activeAt: T0, lastSentAt: T0 + 65_000, repeats: 1 },
  ]);
  restarted.at(T0 + 70_000);
  assert.deepEqual(restarted.engine.evaluate(probe(1)), []);
  restarted.at(T0 + 71_000);
  const resolved = restarted.engine.evaluate(probe(0));
  assert.deepEqual(
    resolved.map((t) => [t.state, t.activeAt]),
    [['resolved', T0]],
  );

  // This process cannot see a source (serve): noData ok → nothing.
  const blind = clocked(rules);
  assert.deepEqual(blind.engine.evaluate(probe(null)), []);
});

test("gap: a gap of more missing ids than the threshold fires and clears after `within`; gapUnhealed holds from the gap's detection until healed", () => {
  const { engine, at } = clocked([
    rule({ name: 'gap', condition: 'gap', threshold: 10, for: 0, within: 60_000 }),
    rule({ name: 'unhealed', condition: 'gapUnhealed', threshold: 0, for: 120_000 }),
  ]);
  const gap = (first: number, last: number, time: number) =>
    engine.observeGap({ type: 'gap', ...BTC, stream: 'trade', firstMissingId: first, lastMissingId: last, detectedAt: time, reason: 'reconnect' });
  const unhealed = (n: number): StateProbe => ({
    ...NO_TROUBLE,
    gapUnhealed: n === 0 ? [] : [{ key: 'binance:spot:BTCUSDT:trade', instrument: BTC, value: n, since: T0 }],
  });
  at(T0);
  gap(100, 104, T0); // 5 ids: under the threshold
  assert.deepEqual(engine.evaluate(unhealed(1)), []);
  gap(200, 299, T0 + 1_000);
  at(T0 + 1_000);
  assert.deepEqual(
    engine.evaluate(unhealed(2)).map((t) => [t.rule.name, t.state, t.value]),
    [['gap', 'firing', 100]],
  );
  at(T0 + 121_000); // the gap event is past `within`; the unhealed one has held 2 min since its detection
  assert.deepEqual(
    engine.evaluate(unhealed(2)).map((t) => [t.rule.name, t.state]),
    [
      ['gap', 'resolved'],
      ['unhealed', 'firing'],
    ],
  );
  at(T0 + 130_000);
  assert.deepEqual(
    engine.evaluate(unhealed(0)).map((t) => [t.rule.name, t.state]),
    [['unhealed', 'resolved']],
  );
});
