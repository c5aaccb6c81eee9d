import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  add,
  compare,
  decimalFromNumber,
  divide,
  formatDecimal,
  formatUnits,
  mul,
  parseDecimal,
  parseUnits,
  sub,
  toNumber,
  trim,
} from '../../src/core/decimal.js';

const d = parseDecimal;
const s = formatDecimal;

test('parse and format keep the exchange scale, trailing zeros included', () => {
  for (const text of ['61780.60', '0.00141342', '5', '-0.001', '0.000', '123456789012345678901234.5']) assert.equal(s(d(text)), text);
  assert.deepEqual(d('12.340'), { value: 12340n, scale: 3 });
  assert.equal(s(d('.5')), '0.5');
  for (const bad of ['', '1e5', '1.2.3', 'abc', '1,5', ' 1']) assert.throws(() => d(bad), { code: 'TF_DECODE' });
});

test('add, sub and mul are exact where floats are not', () => {
  assert.equal(s(add(d('0.1'), d('0.2'))), '0.3');
  assert.equal(0.1 + 0.2 === 0.3, false);
  assert.equal(s(add(d('1.5'), d('0.25'))), '1.75');
  assert.equal(s(sub(d('1'), d('0.001'))), '0.999');
  assert.equal(s(sub(d('0.001'), d('1'))), '-0.999');
  assert.equal(s(mul(d('61800.30'), d('0.006'))), '370.80180');
  assert.equal(s(mul(d('-2.5'), d('0.4'))), '-1.00');
});

test('compare ignores scale', () => {
  assert.equal(compare(d('1.10'), d('1.1')), 0);
  assert.equal(compare(d('1.09'), d('1.1')), -1);
  assert.equal(compare(d('-1'), d('-1.5')), 1);
});

test('divide rounds half away from zero at the requested scale', () => {
  assert.equal(s(divide(d('1'), d('3'), 4)), '0.3333');
  assert.equal(s(divide(d('2'), d('3'), 4)), '0.6667');
  assert.equal(s(divide(d('1'), d('8'), 2)), '0.13');
  assert.equal(s(divide(d('-1'), d('8'), 2)), '-0.13');
  assert.equal(s(divide(d('1'), d('-8'), 2)), '-0.13');
  assert.equal(s(divide(d('10.00'), d('4'), 0)), '3');
  assert.equal(s(divide(d('37166797.50240'), d('601.281'), 12)), '61812.692405713801');
  assert.throws(() => divide(d('1'), d('0.00'), 2), { code: 'TF_DECODE' });
});

test('trim, toNumber and decimalFromNumber', () => {
  assert.equal(s(trim(d('1.2300'))), '1.23');
  assert.equal(s(trim(d('100'))), '100');
  assert.equal(toNumber(d('0.00141342')), 0.00141342);
  assert.equal(s(decimalFromNumber(100000)), '100000');
  assert.equal(s(decimalFromNumber(0.002)), '0.002');
});

test('formats scaled integers with Binance’s fixed decimals', () => {
  assert.equal(formatUnits(6_123_456n, 2, 8), '61234.56000000');
  assert.equal(formatUnits(170n, 5, 8), '0.00170000');
  assert.equal(formatUnits(5_312n, 4, 8), '0.53120000');
  assert.equal(formatUnits(61_800_30n, 2, 2), '61800.30');
  assert.equal(formatUnits(14n, 3, 3), '0.014');
  assert.equal(formatUnits(7n, 0, 8), '7.00000000');
  assert.equal(formatUnits(123_456_789n, 16, 8), '0.00000001', 'extra decimals are cut');
  assert.equal(formatUnits(-5n, 2, 2), '-0.05');
});

test('parses decimal strings exactly', () => {
  assert.equal(parseUnits('61234.56000000', 8), 6_123_456_000_000n);
  assert.equal(parseUnits('0.014', 8), 1_400_000n);
  assert.equal(parseUnits('7', 2), 700n);
  assert.equal(parseUnits('-0.5', 1), -5n);
  for (const s of ['61234.56000000', '0.00001000', '2612.34000000']) assert.equal(formatUnits(parseUnits(s, 8), 8, 8), s);
});
