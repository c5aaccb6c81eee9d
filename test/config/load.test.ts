import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { envName, loadConfig } from '../../src/config/load.js';

test('defaults follow the seed design', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.store.batchRows, 500);
  assert.equal(c.store.batchMs, 2000);
  assert.equal(c.bus.partitions, 3);
  assert.equal(c.bus.retentionMs, 7 * 24 * 3600 * 1000);
  assert.ok(Object.isFrozen(c.store));
});

test('precedence: file < environment < overrides', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'store:\n  batchRows: 10\n  batchMs: 11\nsource:\n  symbols: [solusdt]\n');
  const c = loadConfig({ file, env: { TICKFLOW_STORE_BATCH_MS: '22' }, overrides: { 'store.batchRows': '33' } });
  assert.equal(c.store.batchRows, 33);
  assert.equal(c.store.batchMs, 22);
  assert.deepEqual(c.source.symbols, ['SOLUSDT']);
});

test('environment names are derived from key paths', () => {
  assert.equal(envName('store.batchRows'), 'TICKFLOW_STORE_BATCH_ROWS');
  assert.equal(envName('source.backoff.maxMs'), 'TICKFLOW_SOURCE_BACKOFF_MAX_MS');
  const c = loadConfig({ env: { TICKFLOW_SOURCE_BACKOFF_MAX_MS: '5000', TICKFLOW_SOURCE_SYMBOLS: 'btcusdt, ethbtc' } });
  assert.equal(c.source.backoff.maxMs, 5000);
  assert.deepEqual(c.source.symbols, ['BTCUSDT', 'ETHBTC']);
});

test('an unknown key names the key, the value and near keys', () => {
  assert.throws(() => loadConfig({ env: {}, overrides: { 'store.batchRowz': '3' } }), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'TF_CONFIG_UNKNOWN_KEY');
    assert.match(err.message, /store\.batchRowz/);
    assert.match(err.message, /store\.batchRows/);
    return true;
  });
  assert.throws(() => loadConfig({ env: { TICKFLOW_NOPE: '1' } }), /unknown environment variable TICKFLOW_NOPE="1"/);
});

test('a bad value names the key, the value and what is allowed', () => {
  assert.throws(() => loadConfig({ env: {}, overrides: { 'bus.kind': 'rabbit' } }), /bus\.kind: "rabbit" — one of "memory", "kafka"/);
  assert.throws(() => loadConfig({ env: {}, overrides: { 'store.batchRows': '-1' } }), /store\.batchRows: -1/);
  assert.throws(() => loadConfig({ env: {}, overrides: { 'api.host': '0.0.0.0' } }), /api\.token/);
});

test('secrets from files: TICKFLOW_<KEY>_FILE and file: references, one trailing newline dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-cfg-'));
  const password = join(dir, 'kafka-password');
  const token = join(dir, 'api-token');
  const url = join(dir, 'db-url');
  writeFileSync(password, 'scram-Pass word\n');
  writeFileSync(token, 'tok-0123456789');
  writeFileSync(url, 'postgres://tickflow:db-Secret@db.internal:5432/market?sslmode=verify-full\n');
  const file = join(dir, 'c.yaml');
  writeFileSync(file, `api:\n  token: file:${token}\n`);
  const c = loadConfig({
    file,
    env: {
      TICKFLOW_BUS_SASL_MECHANISM: 'SCRAM-SHA-256',
      TICKFLOW_BUS_SASL_USERNAME: 'tickflow',
      TICKFLOW_BUS_SASL_PASSWORD_FILE: password,
      TICKFLOW_STORE_URL_FILE: url,
    },
  });
  assert.equal(c.bus.sasl.password, 'scram-Pass word');
  assert.equal(c.api.token, 'tok-0123456789');
  assert.equal(c.store.url, 'postgres://tickflow:db-Secret@db.internal:5432/market?sslmode=verify-full');
  const viaFlag = loadConfig({ env: {}, overrides: { 'store.url': `file:${url}` } });
  assert.equal(viaFlag.store.url, c.store.url);
});

test('a secret file that cannot be used is a config error naming the key and the file, never its contents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-cfg-'));
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  const kinds: [Record<string, string>, RegExp][] = [
    [{ TICKFLOW_BUS_SASL_PASSWORD_FILE: join(dir, 'missing') }, /bus\.sasl\.password from .*missing \(TICKFLOW_BUS_SASL_PASSWORD_FILE\): ENOENT/],
    [{ TICKFLOW_API_TOKEN: `file:${dir}` }, /api\.token from .* \(a file: reference\): EISDIR/],
    [{ TICKFLOW_API_TOKEN_FILE: empty }, /api\.token .* the file is empty/],
    [{ TICKFLOW_API_TOKEN: 'x-inline-secret', TICKFLOW_API_TOKEN_FILE: empty }, /both TICKFLOW_API_TOKEN and TICKFLOW_API_TOKEN_FILE/],
  ];
  for (const [env, message] of kinds) {
    assert.throws(() => loadConfig({ env }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TF_CONFIG_INVALID');
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /x-inline-secret/);
      return true;
    });
  }
});

test('SASL and TLS settings: a mechanism needs credentials, a client certificate needs its key', () => {
  assert.throws(
    () => loadConfig({ env: { TICKFLOW_BUS_SASL_MECHANISM: 'SCRAM-SHA-512', TICKFLOW_BUS_SASL_USERNAME: 'u' } }),
    /bus\.sasl\.mechanism: "SCRAM-SHA-512" needs bus\.sasl\.username and bus\.sasl\.password/,
  );
  assert.throws(() => loadConfig({ env: { TICKFLOW_BUS_SASL_MECHANISM: 'GSSAPI' } }), /bus\.sasl\.mechanism: "GSSAPI" — one of "none", "PLAIN"/);
  assert.throws(() => loadConfig({ env: { TICKFLOW_BUS_TLS_CERT: '/c.pem' } }), /bus\.tls\.cert \/ bus\.tls\.key/);
  assert.throws(() => loadConfig({ env: { TICKFLOW_STORE_TLS_KEY: '/k.pem' } }), /store\.tls\.cert \/ store\.tls\.key/);
  const c = loadConfig({ env: { TICKFLOW_BUS_TLS_ENABLED: 'on', TICKFLOW_BUS_TLS_CA: '/ca.pem' } });
  assert.equal(c.bus.tls.enabled, true);
  assert.equal(c.bus.sasl.mechanism, 'none');
});
