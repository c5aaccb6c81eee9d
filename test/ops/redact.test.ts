import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactSecrets, redactUrl } from '../../src/ops/redact.js';

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
