import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InstrumentMap } from '../../src/core/instrument-map.js';

const spot = { exchange: 'binance', market: 'spot', symbol: 'BTCUSDT' };
const usdm = { exchange: 'binance', market: 'usdm', symbol: 'BTCUSDT' };
const eth = { exchange: 'binance', market: 'spot', symbol: 'ETHUSDT' };

test('InstrumentMap: spot and USD-M of one symbol are two keys; an event finds its instrument by its identity fields', () => {
  const map = new InstrumentMap<number>();
  map.set(spot, 1).set(usdm, 2).set(eth, 3);
  assert.equal(map.size, 3);
  // Any object with the identity fields is the key (an event, a row), not the object first stored.
  assert.equal(map.get({ ...usdm, type: 'trade', price: '1' } as typeof usdm), 2);
  assert.equal(map.get(spot), 1);
  assert.equal(map.get({ exchange: 'other', market: 'spot', symbol: 'BTCUSDT' }), undefined);
  map.set({ ...spot }, 10);
  assert.equal(map.size, 3, 'set on an existing instrument replaces its value');
  assert.deepEqual(
    [...map.entries()],
    [
      [spot, 10],
      [usdm, 2],
      [eth, 3],
    ],
  );
  assert.equal(map.delete(usdm), true);
  assert.equal(map.delete(usdm), false);
  assert.deepEqual([...map.values()], [10, 3]);
  assert.equal(map.size, 2);
});
