import assert from 'node:assert/strict';
import { test } from 'node:test';
import { handleRequest, isValidStream, normalizeStream } from '../../src/simulator/protocol.js';

const conn = (streams: string[] = [], combined = true) => ({ streams: new Set(streams), combined });

test('stream names: the ones the simulator serves, symbols lower-cased', () => {
  for (const s of ['btcusdt@trade', 'btcusdt@aggTrade', 'btcusdt@bookTicker', 'btcusdt@depth', 'btcusdt@depth@100ms', 'btcusdt@kline_1M', 'btcusdt@kline_1s']) {
    assert.ok(isValidStream(s), s);
  }
  for (const s of ['btcusdt', 'btcusdt@trades', 'btcusdt@kline_7m', 'BTCUSDT@trade', '@trade']) assert.ok(!isValidStream(s), s);
  assert.equal(normalizeStream('BTCUSDT@kline_1M'), 'btcusdt@kline_1M');
});

test('method results are exactly Binance’s', () => {
  assert.deepEqual(handleRequest('{"method":"SUBSCRIBE","params":["BTCUSDT@trade"],"id":1}', conn()), {
    reply: '{"result":null,"id":1}',
    subscribe: ['btcusdt@trade'],
  });
  assert.deepEqual(handleRequest('{"method":"UNSUBSCRIBE","params":["btcusdt@trade"],"id":"a-1"}', conn()), {
    reply: '{"result":null,"id":"a-1"}',
    unsubscribe: ['btcusdt@trade'],
  });
  assert.equal(handleRequest('{"method":"LIST_SUBSCRIPTIONS","id":null}', conn(['x@trade'])).reply, '{"result":["x@trade"],"id":null}');
  assert.equal(handleRequest('{"method":"GET_PROPERTY","params":["combined"],"id":2}', conn([], false)).reply, '{"result":false,"id":2}');
});

test('errors carry Binance’s codes and messages', () => {
  const err = (text: string) => JSON.parse(handleRequest(text, conn()).reply) as { error: { code: number; msg: string }; id?: unknown };
  assert.deepEqual(err('{"method":'), { error: { code: 3, msg: 'Invalid JSON: expected value at line 1 column 1' } });
  assert.equal(err('{"params":[],"id":4}').error.msg, 'Invalid request: missing field `method` at line 1 column 20');
  assert.equal(err('{"method":"PING","id":4}').error.code, 2);
  assert.equal(err('{"method":"SUBSCRIBE","params":["btcusdt@nope"],"id":4}').error.code, 2);
  assert.equal(err('{"method":"SUBSCRIBE","params":["btcusdt@trade"],"id":1.5}').error.msg, 'Invalid request: request ID must be an unsigned integer');
  assert.deepEqual(err('{"method":"SET_PROPERTY","params":["combined",1],"id":9}'), { error: { code: 1, msg: 'Invalid value type: expected Boolean' }, id: 9 });
  const many = Array.from({ length: 1_025 }, (_, i) => `s${i}@trade`);
  assert.equal(err(JSON.stringify({ method: 'SUBSCRIBE', params: many, id: 1 })).error.code, 2);
});
