import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Delivery } from '../../../src/bus/bus.js';
import { KafkaBus } from '../../../src/bus/kafka/index.js';
import type { Config } from '../../../src/config/schema.js';
import { createLogger } from '../../../src/ops/logger.js';
import { createMetrics } from '../../../src/ops/metrics.js';
import { registerSecret } from '../../../src/ops/redact.js';
import { REPO_ROOT } from '../../support/data.js';
import { kafkaBusConfig, privateBroker, type SecureBroker, uniquePrefix } from '../../support/kafka.js';
import { assertNoSecrets, secretFile, TEST_SECRETS } from '../../support/secrets.js';
import { trade, tradeIds } from './helpers.js';
import { waitFor } from '../../support/wait.js';

// One private broker with a SASL_SSL listener (SCRAM, self-signed CA) for the whole file: the
// shared broker is left alone. Started by scripts/services/kafka.sh like every other broker.
const USER = 'tickflow-test';
const PASSWORD = TEST_SECRETS.kafkaPassword;
// As loading a configuration does: from here on the redactor knows the password.
registerSecret(PASSWORD);
let broker: SecureBroker;
const logs: string[] = [];
const logger = createLogger({ level: 'debug', format: 'json', destination: { write: (line: string) => logs.push(line) } });

// The broker serves every test of the file, so its cleanup runs when the file ends.
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  broker = await privateBroker(
    { after: (fn) => void cleanups.push(fn) },
    {
      user: USER,
      passwordFile: secretFile('kafka-password', PASSWORD),
    },
  );
});
after(async () => {
  for (const fn of cleanups) await fn();
});

function secureConfig(name: string, overrides: { sasl?: Partial<Config['bus']['sasl']>; tls?: Partial<Config['bus']['tls']> } = {}): Config['bus'] {
  const prefix = uniquePrefix(name);
  return kafkaBusConfig(prefix, {
    brokers: broker.secureBrokers,
    groupPrefix: prefix,
    sasl: { mechanism: 'SCRAM-SHA-512', username: USER, password: PASSWORD, ...overrides.sasl },
    tls: { enabled: true, ca: broker.caFile, cert: broker.clientCert, key: broker.clientKey, serverName: '', ...overrides.tls },
  });
}

async function startBus(config: Config['bus'], t: { after(fn: () => Promise<void>): void }): Promise<KafkaBus> {
  const bus = new KafkaBus(config, { logger, metrics: createMetrics() });
  t.after(() => bus.close());
  await bus.start();
  return bus;
}

/** Rejected logins the broker logged so far (Kafka's SocketServer logs each at INFO). */
function countFailedLogins(): number {
  return readFileSync(join(broker.dir, 'logs', 'server.log'), 'utf8')
    .split('\n')
    .filter((l) => l.includes('Failed authentication')).length;
}

for (const mechanism of ['SCRAM-SHA-512', 'SCRAM-SHA-256', 'PLAIN'] as const) {
  test(`SASL_SSL with ${mechanism} and a client certificate: events published over TLS come back to a consumer group, and its lag is probed over the same connection`, async (t) => {
    const config = secureConfig(`sec-${mechanism}`, { sasl: { mechanism } });
    const bus = await startBus(config, t);
    const received: Delivery[] = [];
    const consumer = await bus.subscribe(
      { group: `${config.groupPrefix}-store`, topics: ['trades'], fromBeginning: true },
      {
        onDeliveries: async (batch) => void received.push(...batch),
      },
    );
    t.after(() => consumer.close());
    const events = [1, 2, 3, 4, 5].map((id) => trade(id % 2 ? 'BTCUSDT' : 'ETHUSDT', id));
    await bus.publish(events);
    await waitFor('deliveries over SASL_SSL', () => received.length >= events.length);
    assert.deepEqual(tradeIds(received), [1, 2, 3, 4, 5]);
    const lag = await consumer.lag();
    assert.ok(lag.length > 0, 'the lag probe reads end offsets through the secure listener');
  });
}

test('a wrong password is refused at start-up with TF_BUS_AUTH, not retried: one rejected login on the broker', async (t) => {
  const loginsBefore = countFailedLogins();
  const bus = new KafkaBus(secureConfig('sec-wrong', { sasl: { password: 'tf-test-wrong-password' } }), { logger, metrics: createMetrics() });
  t.after(() => bus.close());
  await assert.rejects(bus.start(), (err: Error & { code?: string; canRetry?: boolean }) => {
    assert.equal(err.code, 'TF_BUS_AUTH');
    assert.equal(err.canRetry, false);
    assert.match(err.message, /refused the SASL credentials \(user "tickflow-test", SCRAM-SHA-512\).*bus\.sasl\.password/);
    assert.doesNotMatch(err.message, /tf-test-wrong-password/);
    return true;
  });
  // The broker writes its log line as it closes the connection: wait for it rather than guess.
  await waitFor('the broker to log the rejected login', () => countFailedLogins() > loginsBefore, 10_000);
  assert.equal(countFailedLogins() - loginsBefore, 1, 'the client tried once, not in a loop');
});

test('a plaintext client is refused by the SASL_SSL listener, and the error says to turn TLS on', async (t) => {
  const bus = new KafkaBus(secureConfig('sec-plain', { tls: { enabled: false, ca: '', cert: '', key: '' } }), { logger, metrics: createMetrics() });
  t.after(() => bus.close());
  await assert.rejects(bus.start(), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TF_BUS_UNAVAILABLE');
    assert.match(err.message, /closed the connection before answering.*bus\.tls\.enabled=true/);
    return true;
  });
});

test('a broker certificate from an untrusted CA is refused with TF_BUS_TLS naming bus.tls.ca', async (t) => {
  const other = mkdtempSync(join(tmpdir(), 'tickflow-other-ca-'));
  execFileSync('bash', [join(REPO_ROOT, 'scripts', 'tls.sh'), other]);
  for (const ca of [join(other, 'ca.pem'), '']) {
    // '' = the system's CAs, which do not know the test CA either.
    const bus = new KafkaBus(secureConfig('sec-ca', { tls: { ca } }), { logger, metrics: createMetrics() });
    t.after(() => bus.close());
    await assert.rejects(bus.start(), (err: Error & { code?: string; canRetry?: boolean }) => {
      assert.equal(err.code, 'TF_BUS_TLS');
      assert.equal(err.canRetry, false);
      assert.match(err.message, /not signed by a trusted CA .*set bus\.tls\.ca/);
      return true;
    });
  }
});

test('a CA file that does not exist is a configuration error naming bus.tls.ca', () => {
  assert.throws(() => new KafkaBus(secureConfig('sec-nofile', { tls: { ca: '/nonexistent/ca.pem' } }), { logger, metrics: createMetrics() }), {
    code: 'TF_CONFIG_INVALID',
    message: /cannot read bus\.tls\.ca \(\/nonexistent\/ca\.pem\): ENOENT/,
  });
});

test('nothing this file logged contains the password', () => {
  assert.ok(logs.length > 0);
  assertNoSecrets(logs.join(''), 'the Kafka security test logs');
});
