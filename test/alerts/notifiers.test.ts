import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AlertEngine } from '../../src/alerts/engine.js';
import { notificationsOf, type Notification } from '../../src/alerts/notification.js';
import { NOTIFIERS } from '../../src/alerts/notifier.js';
import { configSchema, type Config } from '../../src/config/schema.js';
import { ErrorCodes, TickflowError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/ops/logger.js';
import { BTC, NO_TROUBLE, spreadWindow, T0 } from '../support/alerts.js';
import { startMailpit } from '../support/mailpit.js';
import { startWebhookReceiver } from '../support/webhook-receiver.js';
import { waitFor } from '../support/wait.js';

const deps = { logger: silentLogger() };

/** A real firing notification: the engine's own transition for a wide BTCUSDT spread. */
function spreadNotification(): Notification {
  const config = configSchema.parse({ alerts: { rules: [{ name: 'spread-wide', condition: 'spread', threshold: 10, for: 0 }] } });
  const engine = new AlertEngine(config.alerts.rules, () => T0 + 30_000);
  engine.observe(spreadWindow(BTC, T0, 12.5));
  const [n] = notificationsOf(engine.evaluate(NO_TROUBLE), 'http://dash.example:8080');
  assert.ok(n);
  return n;
}

function smtpConfig(over: Partial<Config['alerts']['smtp']>): Config['alerts']['smtp'] {
  return configSchema.parse({ alerts: { smtp: { enabled: true, to: ['ops@example.com'], from: 'tickflow@example.com', ...over } } }).alerts.smtp;
}

test('SMTP: STARTTLS + AUTH to Mailpit; the mail states rule, symbol, value, threshold and the dashboard link, in text and HTML', async (t) => {
  const mailpit = await startMailpit(t);
  const n = spreadNotification();
  const notifier = NOTIFIERS.smtp(
    smtpConfig({ port: mailpit.smtpPort, security: 'starttls', username: mailpit.username, password: mailpit.password, ca: mailpit.caFile }),
    deps,
  );
  t.after(() => notifier.close());
  await notifier.send(n);
  let messages = await mailpit.messages();
  await waitFor('the mail in Mailpit', async () => {
    messages = await mailpit.messages();
    return messages.length === 1;
  });
  const [mail] = messages;
  assert.equal(mail?.Subject, '[tickflow FIRING] spread-wide: BTCUSDT');
  assert.deepEqual(
    mail?.To.map((a) => a.Address),
    ['ops@example.com'],
  );
  for (const part of [
    'rule: spread-wide (spread)',
    'symbol: BTCUSDT on binance spot',
    'value: 12.5',
    'threshold: 10',
    'http://dash.example:8080/#binance:spot/BTCUSDT/1m',
    'average spread 12.50 bps (threshold 10.00 bps)',
  ]) {
    assert.ok(mail?.Text.includes(part), `text has "${part}": ${mail?.Text}`);
  }
  assert.match(mail?.HTML ?? '', /<td>BTCUSDT<\/td><td>12\.5<\/td><td>10<\/td>/);
  assert.match(mail?.HTML ?? '', /href="http:\/\/dash\.example:8080\/#binance:spot\/BTCUSDT\/1m"/);
});

test('SMTP: a wrong password is TF_NOTIFY_FAILED that retrying cannot fix; plain SMTP to a STARTTLS-only server is refused', async (t) => {
  const mailpit = await startMailpit(t);
  const wrong = NOTIFIERS.smtp(smtpConfig({ port: mailpit.smtpPort, username: mailpit.username, password: 'not-the-password', ca: mailpit.caFile }), deps);
  t.after(() => wrong.close());
  await assert.rejects(
    wrong.send(spreadNotification()),
    (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.NOTIFY_FAILED && !err.canRetry,
  );
  const plain = NOTIFIERS.smtp(smtpConfig({ port: mailpit.smtpPort, security: 'none', username: mailpit.username, password: mailpit.password }), deps);
  t.after(() => plain.close());
  await assert.rejects(plain.send(spreadNotification()), (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.NOTIFY_FAILED);
  assert.deepEqual(await mailpit.messages(), []);
});

test('webhook: signed JSON with the idempotency key, retried with backoff through 503s; a 400 is final', async (t) => {
  const secret = 'hook-secret-123';
  const receiver = await startWebhookReceiver(t, secret);
  const config = configSchema.parse({ alerts: { webhook: { enabled: true, url: receiver.url, secret, attempts: 4, retryInitialMs: 10, retryMaxMs: 50 } } })
    .alerts.webhook;
  const notifier = NOTIFIERS.webhook(config, deps);
  const n = spreadNotification();
  receiver.failNext(2, 503);
  await notifier.send(n);
  assert.deepEqual(
    receiver.requests.map((r) => [r.status, r.signed]),
    [
      [503, true],
      [503, true],
      [204, true],
    ],
  );
  assert.ok(
    receiver.requests.every((r) => r.headers['idempotency-key'] === n.key),
    'every attempt carries the same idempotency key',
  );
  const [body] = receiver.accepted();
  assert.equal(body?.rule, 'spread-wide');
  assert.deepEqual(
    body?.alerts.map((a) => [a.instrument?.symbol, a.value, a.threshold]),
    [['BTCUSDT', 12.5, 10]],
  );

  receiver.failNext(1, 400);
  await assert.rejects(notifier.send(n), (err: unknown) => err instanceof TickflowError && err.code === ErrorCodes.NOTIFY_FAILED && !err.canRetry);
  assert.equal(receiver.requests.length, 4, 'a 400 is not retried');

  // A sender with another secret is refused by the receiver's signature check.
  const forged = NOTIFIERS.webhook({ ...config, secret: 'not-the-secret', attempts: 1 }, deps);
  await assert.rejects(forged.send(n), /answered 401/);
});
