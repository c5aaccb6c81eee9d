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
