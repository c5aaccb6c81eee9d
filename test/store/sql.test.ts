import assert from 'node:assert/strict';
import { test } from 'node:test';
import { silentLogger } from '../../src/ops/logger.js';
import { openPostgres } from '../../src/store/postgres.js';
import { arrayParams } from '../../src/store/sql.js';
import { freshDatabase } from '../support/postgres.js';

/** Values a column array can hold, with the ones that must be quoted or are not text at all. */
const TEXTS = [
  'BTCUSDT',
  '61800.30',
  '2024-08-09T00:14:16.322Z',
  '',
  ' padded ',
  'a,b',
  '{x}',
  'say "hi"',
  'back\\slash',
  'NULL',
  'null',
  'tab\there',
  'line\nbreak',
  'ünïcode €',
  null,
];

test('arrayParams: PostgreSQL reads each array text as the same values node-postgres sends for the array', async (t) => {
  const db = await openPostgres(await freshDatabase(t), { logger: silentLogger() });
  t.after(() => db.close());
  const columns: unknown[][] = [
    TEXTS,
    ['61800.30', '-0.00100000', '5', null],
    [5266583935, 0, -1, null],
    [true, false, null],
    ['2024-08-09T00:14:16.322088Z', '2024-08-09T00:14:16.322Z', null],
  ];
  const sql = 'SELECT $1::text[] AS a, $2::numeric[]::text[] AS b, $3::bigint[]::text[] AS c, $4::bool[] AS d, $5::timestamptz[]::text[] AS e';
  const encoded = arrayParams(columns);
  for (const [i, p] of encoded.entries()) assert.equal(typeof p, 'string', `column ${i} is sent as array text`);
  const ours = await db.query(sql, encoded);
  const theirs = await db.query(sql, columns);
  assert.deepEqual(ours, theirs);
  assert.deepEqual(ours[0]?.a, TEXTS, 'every text comes back unchanged, NULL and "NULL" told apart');
});

test('arrayParams: a column holding objects, and a parameter that is no array, are left to node-postgres', () => {
  const levels = [[['61800.30', '0.5']], [['61800.40', '1']]];
  const params = arrayParams([levels, 'plain', ['a', { b: 1 }]]);
  assert.equal(params[0], levels);
  assert.equal(params[1], 'plain');
  assert.deepEqual(params[2], ['a', { b: 1 }]);
});
