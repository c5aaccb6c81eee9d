import assert from 'node:assert/strict';
import { test } from 'node:test';
import { spawnTickflow } from '../../support/cli.js';
import { startWebhookReceiver } from '../../support/webhook-receiver.js';

test('tickflow alerts list prints every default rule with its threshold, for and notifiers', async () => {
  const cli = spawnTickflow(['alerts', 'list']);
  assert.equal(await cli.exited, 0, cli.stderr());
  const lines = cli.stdout().trim().split('\n');
  assert.match(lines[0] ?? '', /^rule\s+condition\s+threshold\s+for\s+noData\s+repeat\s+notify$/);
  assert.match(cli.stdout(), /^spread-wide\s+spread\s+10\s+1m\s+ok\s+4h\s+\(no enabled notifier\)$/m);
  assert.match(cli.stdout(), /^whale\s+whale\s+5000000\s+0s\s+/m);
  assert.equal(lines.length, 10);
});

test('tickflow alerts test <rule> sends a signed sample notification; an unknown rule is a configuration error (exit 2)', async (t) => {
  const secret = 'cli-hook-secret';
  const receiver = await startWebhookReceiver(t, secret);
  const hook = ['--set', 'alerts.webhook.enabled=true', '--set', `alerts.webhook.url=${receiver.url}`, '--set', `alerts.webhook.secret=${secret}`];
  const cli = spawnTickflow(['alerts', 'test', 'spread-wide', ...hook]);
  assert.equal(await cli.exited, 0, cli.stderr());
  assert.match(cli.stdout(), /^sent "\[tickflow FIRING\] spread-wide: BTCUSDT" via webhook$/m);
  const [body] = receiver.accepted();
  assert.ok(receiver.requests.every((r) => r.signed));
  assert.match(body?.alerts[0]?.message ?? '', /^\[TEST\] spread-wide firing on BTCUSDT: average spread 20\.00 bps \(threshold 10\.00 bps for 1m\)$/);

  const unknown = spawnTickflow(['alerts', 'test', 'nope', ...hook]);
  assert.equal(await unknown.exited, 2);
  assert.match(unknown.stderr(), /TF_CONFIG_INVALID: no alert rule "nope" in alerts\.rules; configured: volatility, spread-wide/);
  const silent = spawnTickflow(['alerts', 'test', 'spread-wide']);
  assert.equal(await silent.exited, 2);
  assert.match(silent.stderr(), /has no enabled notifier/);
});
