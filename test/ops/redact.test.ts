import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { SECRET_KEYS } from '../../src/config/schema.js';
import { createLogger } from '../../src/ops/logger.js';
import { redactConfig, redactSecrets, redactUrl, registerSecret } from '../../src/ops/redact.js';

test('redactUrl hides the password and keeps everything an operator needs', () => {
  assert.equal(redactUrl('postgres://tickflow:s3cret@db.internal:5432/market'), 'postgres://tickflow:***@db.internal:5432/market');
  assert.equal(redactUrl('postgresql://:only-pass@localhost/db'), 'postgresql://:***@localhost/db');
  assert.equal(redactUrl('https://user:p%40ss@example.com/hook?x=1'), 'https://user:***@example.com/hook?x=1');
  assert.equal(redactUrl('postgres://u:p@ss@host/db'), 'postgres://u:***@host/db', 'a raw @ in the password does not leak');
  assert.equal(redactUrl('postgres://host/db?user=u&password=hunter2&sslmode=require'), 'postgres://host/db?user=u&password=***&sslmode=require');
  assert.equal(redactUrl('https://hooks.example.com/x?token=abc#frag'), 'https://hooks.example.com/x?token=***#frag');
});

test('URLs without credentials and plain text pass unchanged', () => {
  for (const s of ['wss://stream.binance.com:9443/stream?streams=btcusdt@trade', 'postgres://tickflow@db:5432/market', 'embedded', 'a=b']) {
    assert.equal(redactUrl(s), s);
  }
});

test('redactSecrets finds URLs inside messages', () => {
  assert.equal(
    redactSecrets('connect ECONNREFUSED for postgres://a:b@127.0.0.1:1/x, retrying; also redis://:c@r:6379'),
    'connect ECONNREFUSED for postgres://a:***@127.0.0.1:1/x, retrying; also redis://:***@r:6379',
  );
});

test('secret keys of the configuration: hidden by tickflow config, and their values wherever they turn up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-redact-'));
  const passwordFile = join(dir, 'pw');
  writeFileSync(passwordFile, 'kafka-From-File-9d2\n');
  const config = loadConfig({
    env: {
      TICKFLOW_BUS_SASL_MECHANISM: 'SCRAM-SHA-512',
      TICKFLOW_BUS_SASL_USERNAME: 'tickflow',
      TICKFLOW_BUS_SASL_PASSWORD_FILE: passwordFile,
      TICKFLOW_API_TOKEN: 'api-Token-77aa',
      TICKFLOW_STORE_URL: 'postgres://tickflow:db%40Pass-31@db.internal/market?sslmode=verify-full',
    },
  });
  const shown = JSON.stringify(redactConfig(config, SECRET_KEYS));
  for (const secret of ['kafka-From-File-9d2', 'api-Token-77aa', 'db%40Pass-31', 'db@Pass-31']) assert.ok(!shown.includes(secret), secret);
  assert.match(shown, /"password":"\*\*\*"/);
  assert.match(shown, /"token":"\*\*\*"/);
  assert.match(shown, /postgres:\/\/tickflow:\*\*\*@db\.internal\/market\?sslmode=verify-full/);
  assert.match(shown, /"username":"tickflow"/, 'what is not secret stays readable');
  // Loading the configuration taught the redactor its values: an error quoting one cannot leak it.
  assert.equal(redactSecrets('SASL failed for kafka-From-File-9d2 (db@Pass-31)'), 'SASL failed for *** (***)');
  assert.deepEqual(redactConfig({ reasons: ['bus: api-Token-77aa rejected'], n: 1 }), { reasons: ['bus: *** rejected'], n: 1 });
});

test('unset secrets stay empty in tickflow config, and short values are not treated as secrets', () => {
  const shown = redactConfig(loadConfig({ env: {} }), SECRET_KEYS);
  assert.equal(shown.bus.sasl.password, '');
  assert.equal(shown.api.token, undefined);
  registerSecret('ab');
  assert.equal(redactSecrets('abc'), 'abc');
});

test('log lines: no registered secret in any field, message or error', () => {
  registerSecret('log-Secret-5150');
  const lines: string[] = [];
  const logger = createLogger({ level: 'info', format: 'json', destination: { write: (s: string) => lines.push(s) } });
  logger.info({ reason: 'auth failed with log-Secret-5150', nested: { detail: ['x log-Secret-5150'] } }, 'retrying log-Secret-5150');
  logger.error({ err: new Error('bad password log-Secret-5150') }, 'failed');
  assert.equal(lines.length, 2);
  for (const line of lines) assert.ok(!line.includes('log-Secret-5150'), line);
  assert.match(lines[1]!, /bad password \*\*\*/);
});
