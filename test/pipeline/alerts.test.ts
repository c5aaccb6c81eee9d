import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { startMailpit } from '../support/mailpit.js';
import { readEmbedded, startTestPipeline, tempDir, waitFor, waitWhileProgressing } from '../support/pipeline.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'pipeline-hook-secret';

/** Webhook notifications accepted so far, as `rule state` strings (firing/repeat/resolved). */
const seen = (receiver: WebhookReceiver) => receiver.accepted().map((b) => `${b.rule} ${b.state}`);

test('simulator faults fire their rules after `for`, deliver mail and signed webhooks, resolve, and a restart sends nothing twice', async (t) => {
  const mailpit = await startMailpit(t);
  const receiver = await startWebhookReceiver(t, SECRET);
  let sim: Simulator = await startSimulator({ symbols: ['BTCUSDT'], seed: 11, tradesPerSecond: 20, bookTickersPerSecond: 10 });
  t.after(() => sim.close());
  const port = Number(new URL(sim.wsBaseUrl).port);
  const dataDir = tempDir();
  const overrides = {
    'source.kind': 'binance',
    'source.wsBaseUrl': sim.wsBaseUrl,
    'source.restBaseUrl': sim.restBaseUrl,
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade', 'bookTicker'],
    'store.dataDir': dataDir,
    // One-second windows and evaluations, so that `for` durations of seconds mean something.
    'processor.metricsWindowMs': 1_000,
    'processor.spreadWindowMs': 1_000,
    'processor.allowedLatenessMs': 200,
    'processor.triggerIntervalMs': 500,
    'alerts.evaluateIntervalMs': 200,
    'alerts.webhook': { enabled: true, url: receiver.url, secret: SECRET, retryInitialMs: 10, retryMaxMs: 100 },
    'alerts.smtp': { enabled: true, port: mailpit.smtpPort, username: mailpit.username, password: mailpit.password, ca: mailpit.caFile, to: ['ops@example.com'] },
    'alerts.rules': [
      { name: 'whale', condition: 'whale', threshold: 5_000_000, for: '1s', within: '3s', notify: ['webhook', 'smtp'] },
      { name: 'burst', condition: 'volumeSpike', threshold: 4, for: '2s', notify: ['webhook'] },
      { name: 'source-down', condition: 'sourceDisconnected', threshold: 0, for: '1s', notify: ['webhook'] },
    ],
  };
  let run = await startTestPipeline(t, overrides);
  const trades = () => sim.emitted()['btcusdt@trade']?.count ?? 0;
  await waitWhileProgressing('a few seconds of trades for the volume baseline', () => trades() > 100, trades);

  // Burst: a volume spike over two one-second windows fires after `for` (2 s), then resolves.
  sim.faults.burst(400, 4_000);
  await waitWhileProgressing('burst firing', () => seen(receiver).includes('burst firing'), trades);
  await waitWhileProgressing('burst resolved', () => seen(receiver).includes('burst resolved'), trades);

  // Whale (after the burst: its volume would be the next 20 windows' baseline): fires once `for` (1 s) has passed, by mail and webhook; then resolves when `within` (3 s) ends.
  const whaleAt = Date.now();
  sim.faults.whale('BTCUSDT', 10_000_000);
  await waitWhileProgressing('whale firing', () => seen(receiver).includes('whale firing'), trades);
  const firing = receiver.accepted().find((b) => b.rule === 'whale' && b.state === 'firing');
  assert.ok(Date.now() - whaleAt >= 1_000, 'not before its `for`');
  assert.match(firing?.alerts[0]?.message ?? '', /whale firing on BTCUSDT .*trade notional .* \(threshold 5000000 \(quote\) for 1s\)/);
  assert.ok(receiver.requests.every((r) => r.signed), 'every webhook is signed');
  await waitFor('the whale mail', async () => (await mailpit.messages()).some((m) => m.Subject === '[tickflow FIRING] whale: BTCUSDT'));
  const mail = (await mailpit.messages()).find((m) => m.Subject === '[tickflow FIRING] whale: BTCUSDT');
  assert.match(mail?.Text ?? '', /threshold: 5000000/);
  assert.match(mail?.Text ?? '', /dashboard: http:\/\/127\.0\.0\.1:0\/#binance:spot\/BTCUSDT\/1m/);

  // A restart while the whale alert fires: the new process restores it and sends no second "firing".
  assert.equal(await run.stop(), 0);
  run = await startTestPipeline(t, overrides);
  await waitWhileProgressing('whale resolved', () => seen(receiver).includes('whale resolved'), trades);

  // A dropped connection that cannot come back (the exchange is gone) fires after `for`; it resolves once reconnected.
  await sim.close();
  await waitFor('source-down firing', () => seen(receiver).includes('source-down firing'), 60_000);
  sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 12, tradesPerSecond: 20, bookTickersPerSecond: 10, port });
  await waitFor('source-down resolved', () => seen(receiver).includes('source-down resolved'), 60_000);

  assert.equal(await run.stop(), 0);
  const sent = seen(receiver);
  for (const name of ['whale', 'burst', 'source-down']) {
    assert.deepEqual(sent.filter((s) => s.startsWith(`${name} `) && !s.endsWith('repeat')), [`${name} firing`, `${name} resolved`], `${name}: once each: ${sent.join(', ')}`);
  }
  assert.equal(new Set(receiver.accepted().map((b) => b.key)).size, receiver.accepted().length, 'no idempotency key delivered twice');
  assert.equal((await mailpit.messages()).filter((m) => m.Subject.includes('whale')).length, 2, 'whale: one firing and one resolved mail');
  await readEmbedded(dataDir, async (db) => {
    const history = await db.query<{ rule: string; state: string }>('SELECT rule, state FROM alert_events ORDER BY id');
    assert.deepEqual(history.filter((h) => h.rule === 'whale').map((h) => h.state), ['firing', 'resolved']);
    const [pending] = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM alert_deliveries WHERE delivered_at IS NULL');
    assert.equal(pending?.n, 0);
  });
});

test('tickflow run serves its own engine on /api/alerts: a firing alert is listed while it fires (not engine: false)', async (t) => {
  const sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 12, tradesPerSecond: 5, bookTickersPerSecond: 5 });
  t.after(() => sim.close());
  const { pipeline } = await startTestPipeline(t, {
    'source.kind': 'binance',
    'source.wsBaseUrl': sim.wsBaseUrl,
    'source.restBaseUrl': sim.restBaseUrl,
    'source.symbols': ['BTCUSDT'],
    'source.streams': ['trade'],
    'store.dataDir': tempDir(),
    'alerts.evaluateIntervalMs': 200,
    'alerts.rules': [{ name: 'source-down', condition: 'sourceDisconnected', threshold: 0, for: '0s', notify: [] }],
  });
  const alerts = async () => (await (await fetch(`${pipeline.apiUrl}/api/alerts`)).json()) as { engine: boolean; firing: { rule: string }[] };
  assert.equal((await alerts()).engine, true);
  await sim.close();
  await waitFor('source-down listed as firing on /api/alerts', async () => (await alerts()).firing.some((a) => a.rule === 'source-down'), 60_000);
});
