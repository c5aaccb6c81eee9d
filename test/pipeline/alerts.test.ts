import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { startMailpit } from '../support/mailpit.js';
import { readEmbedded, startTestPipeline, tempDir, waitFor, waitWhileProgressing } from '../support/pipeline.js';
import { startWebhookReceiver, type WebhookReceiver } from '../support/webhook-receiver.js';

const SECRET = 'pipeline-hook-secret';

/** Webhook notifications accepted so far, as `rule state` strings (firing/repeat/resolved). */
const seen = (receiver: WebhookReceiver) => receiver.accepted().map((b) => `${b.rule} ${b.state}`);

/** End (epoch ms, event time) of the newest final trade-metrics window the pipeline serves; 0 before the first. */
async function finalWindowEnd(apiUrl: string): Promise<number> {
  const body = (await (await fetch(`${apiUrl}/api/metrics/trades?symbol=BTCUSDT&limit=3`)).json()) as { metrics?: { windowEnd: number; final: boolean }[] };
  return Math.max(0, ...(body.metrics ?? []).filter((m) => m.final).map((m) => m.windowEnd));
}

/**
 * Waits for the webhook `rule state`, with the pipeline's final windows as progress: a busy machine
 * only slows the wait, but once `windowsMs` of event time went by without it, it fails saying what
 * did arrive (trades alone keep coming whether or not the alert ever does, so they cannot bound it).
 */
async function waitForHook(receiver: WebhookReceiver, apiUrl: () => string, hook: string, windowsMs: number): Promise<void> {
  const from = await finalWindowEnd(apiUrl());
  const progress = () => finalWindowEnd(apiUrl());
  await waitWhileProgressing(
    hook,
    async () => {
      if (seen(receiver).includes(hook)) return true;
      const at = await progress();
      if (from > 0 && at - from > windowsMs)
        throw new Error(`"${hook}" not delivered within ${windowsMs} ms of final windows; delivered: ${seen(receiver).join(', ') || 'nothing'}`);
      return false;
    },
    progress,
  );
}

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
    'alerts.smtp': {
      enabled: true,
      port: mailpit.smtpPort,
      username: mailpit.username,
      password: mailpit.password,
      ca: mailpit.caFile,
      to: ['ops@example.com'],
    },
    'alerts.rules': [
      { name: 'whale', condition: 'whale', threshold: 5_000_000, for: '1s', within: '3s', notify: ['webhook', 'smtp'] },
      { name: 'burst', condition: 'volumeSpike', threshold: 4, for: '2s', notify: ['webhook'] },
      { name: 'source-down', condition: 'sourceDisconnected', threshold: 0, for: '1s', notify: ['webhook'] },
    ],
  };
  let run = await startTestPipeline(t, overrides);
  const apiUrl = (): string => {
    assert.ok(run.pipeline.apiUrl, 'the run serves its API');
    return run.pipeline.apiUrl;
  };
  const trades = () => sim.emitted()['btcusdt@trade']?.count ?? 0;
  // The baseline is the mean of the previous volumeSpikeLookback (20) windows, the burst's own among
  // them once it has begun: over a full baseline the burst's second window is still ~10× it, over a
  // few windows it can fall below the threshold (it did, on a busy machine) and `for` never holds.
  const firstWindow = await (async () => {
    await waitWhileProgressing('a first final window', async () => (await finalWindowEnd(apiUrl())) > 0, trades);
    return finalWindowEnd(apiUrl());
  })();
  await waitWhileProgressing(
    'a full volume baseline (20 windows)',
    async () => (await finalWindowEnd(apiUrl())) - firstWindow >= 20_000,
    () => finalWindowEnd(apiUrl()),
  );

  // Burst: a volume spike over two one-second windows fires after `for` (2 s), then resolves.
  sim.faults.burst(400, 4_000);
  await waitForHook(receiver, apiUrl, 'burst firing', 30_000);
  await waitForHook(receiver, apiUrl, 'burst resolved', 30_000);

  // Whale (after the burst: its volume would be the next 20 windows' baseline): fires once `for` (1 s) has passed, by mail and webhook; then resolves when `within` (3 s) ends.
  const whaleAt = Date.now();
  sim.faults.whale('BTCUSDT', 10_000_000);
  await waitForHook(receiver, apiUrl, 'whale firing', 30_000);
  const firing = receiver.accepted().find((b) => b.rule === 'whale' && b.state === 'firing');
  assert.ok(Date.now() - whaleAt >= 1_000, 'not before its `for`');
  assert.match(firing?.alerts[0]?.message ?? '', /whale firing on BTCUSDT .*trade notional .* \(threshold 5000000 \(quote\) for 1s\)/);
  assert.ok(
    receiver.requests.every((r) => r.signed),
    'every webhook is signed',
  );
  await waitFor('the whale mail', async () => (await mailpit.messages()).some((m) => m.Subject === '[tickflow FIRING] whale: BTCUSDT'), 60_000);
  const mail = (await mailpit.messages()).find((m) => m.Subject === '[tickflow FIRING] whale: BTCUSDT');
  assert.match(mail?.Text ?? '', /threshold: 5000000/);
  assert.match(mail?.Text ?? '', /dashboard: http:\/\/127\.0\.0\.1:0\/#binance:spot\/BTCUSDT\/1m/);

  // A restart while the whale alert fires: the new process restores it and sends no second "firing".
  assert.equal(await run.stop(), 0);
  run = await startTestPipeline(t, overrides);
  await waitForHook(receiver, apiUrl, 'whale resolved', 30_000);

  // A dropped connection that cannot come back (the exchange is gone) fires after `for`; it resolves once reconnected.
  // (A start-up whose first connection took longer than `for` on a busy machine is a disconnection
  // too, so only what follows the exchange's going away is asserted for this rule.)
  const beforeOutage = receiver.accepted().length;
  const sinceOutage = () => seen(receiver).slice(beforeOutage);
  await sim.close();
  await waitFor('source-down firing', () => sinceOutage().includes('source-down firing'), 60_000);
  sim = await startSimulator({ symbols: ['BTCUSDT'], seed: 12, tradesPerSecond: 20, bookTickersPerSecond: 10, port });
  await waitFor('source-down resolved', () => sinceOutage().includes('source-down resolved'), 60_000);

  assert.equal(await run.stop(), 0);
  const sent = seen(receiver);
  const once = (name: string, list: string[]) =>
    assert.deepEqual(
      list.filter((s) => s.startsWith(`${name} `) && !s.endsWith('repeat')),
      [`${name} firing`, `${name} resolved`],
      `${name}: once each: ${sent.join(', ')}`,
    );
  once('whale', sent);
  once('burst', sent);
  once('source-down', sinceOutage());
  assert.equal(new Set(receiver.accepted().map((b) => b.key)).size, receiver.accepted().length, 'no idempotency key delivered twice');
  assert.equal((await mailpit.messages()).filter((m) => m.Subject.includes('whale')).length, 2, 'whale: one firing and one resolved mail');
  await readEmbedded(dataDir, async (db) => {
    const history = await db.query<{ rule: string; state: string }>('SELECT rule, state FROM alert_events ORDER BY id');
    assert.deepEqual(
      history.filter((h) => h.rule === 'whale').map((h) => h.state),
      ['firing', 'resolved'],
    );
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
