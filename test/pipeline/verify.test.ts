import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/ops/logger.js';
import { compareCandles, KLINE_VALUE_FIELDS, klinesFromFile, mismatchTable, storedCandles } from '../../src/pipeline/verify.js';
import type { KlineRow } from '../../src/sources/binance/rest-parse.js';
import type { Queryable } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/open.js';
import { spawnTickflow } from '../support/cli.js';
import { sharedData } from '../support/data.js';

const logger = silentLogger();
const EXCERPT = 'BTCUSDT-1m-2024-08.EXCERPT_2024-08-08T2331_2024-08-09T0019.csv';

/** The decimal one unit of its last digit larger: "61826.60" → "61826.61", "6972" → "6973". */
function bump(value: string): string {
  const dot = value.indexOf('.');
  const digits = (BigInt(value.replace('.', '')) + 1n).toString().padStart(value.length - (dot < 0 ? 0 : 1), '0');
  return dot < 0 ? digits : `${digits.slice(0, digits.length - (value.length - dot - 1))}.${digits.slice(digits.length - (value.length - dot - 1))}`;
}

function edited(row: KlineRow, field: (typeof KLINE_VALUE_FIELDS)[number]): KlineRow {
  return field === 'tradeCount' ? { ...row, tradeCount: row.tradeCount + 1 } : { ...row, [field]: bump(row[field]) };
}

async function insertCandles(db: Queryable, market: string, rows: readonly KlineRow[]): Promise<void> {
  for (const k of rows) {
    await db.query(
      `INSERT INTO candles (exchange, market, symbol, interval, window_start, window_end, open, high, low, close, volume, quote_volume, trade_count,
         taker_buy_volume, taker_buy_quote_volume, vwap, first_trade_id, last_trade_id, indicators, is_final, is_complete, source_offset)
       VALUES ('binance', $1, 'BTCUSDT', '1m', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, NULL, 1, 2, '{}', true, true, 0)`,
      [
        market,
        new Date(k.openTime).toISOString(),
        new Date(k.closeTime).toISOString(),
        k.open,
        k.high,
        k.low,
        k.close,
        k.volume,
        k.quoteVolume,
        k.tradeCount,
        k.takerBuyVolume,
        k.takerBuyQuoteVolume,
      ],
    );
  }
}

test('verify catches a candle edited by one unit in any of the nine fields (official USD-M klines)', async (t) => {
  const path = sharedData(t, 'official-klines', EXCERPT);
  if (path === undefined) return;
  const theirs = await klinesFromFile(path, 'usdm');
  assert.equal(theirs.length, 49);
  const from = theirs[0]!.openTime;
  const to = theirs[theirs.length - 1]!.openTime + 60_000;
  const same = new Map(theirs.map((k) => [k.openTime, k]));
  assert.deepEqual(compareCandles({ complete: same, incomplete: new Set() }, theirs, from, to).mismatches, []);
  const victim = theirs[17]!;
  for (const field of KLINE_VALUE_FIELDS) {
    const ours = new Map(same).set(victim.openTime, edited(victim, field));
    const { mismatches } = compareCandles({ complete: ours, incomplete: new Set() }, theirs, from, to);
    assert.equal(mismatches.length, 1, field);
    assert.equal(mismatches[0]?.minute, victim.openTime);
    assert.equal(mismatches[0]?.field, field);
  }
  // Trailing zeros are not a difference; a missing candle with trades is; an incomplete one is skipped.
  const padded = new Map(same).set(victim.openTime, { ...victim, open: `${victim.open}000` });
  assert.deepEqual(compareCandles({ complete: padded, incomplete: new Set() }, theirs, from, to).mismatches, []);
  const missing = new Map(same);
  missing.delete(victim.openTime);
  assert.deepEqual(
    compareCandles({ complete: missing, incomplete: new Set() }, theirs, from, to).mismatches.map((m) => m.field),
    ['candle'],
  );
  const partial = compareCandles({ complete: missing, incomplete: new Set([victim.openTime]) }, theirs, from, to);
  assert.deepEqual([partial.mismatches.length, partial.incomplete], [0, 1]);
  assert.match(
    mismatchTable([{ minute: victim.openTime, field: 'volume', ours: '1.000', theirs: '1.001' }]),
    /^minute +field +ours +theirs\n2024-08-08T23:48 +volume +1\.000 +1\.001$/,
  );
});

test('tickflow verify --against <official file>: exit 0 when stored candles match, 1 and a table when one field differs', async (t) => {
  const path = sharedData(t, 'official-klines', EXCERPT);
  if (path === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'tf-verify-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'db');
  // The database exactly as the CLI opens it (store.url=embedded in --data-dir).
  const store = configSchema.parse({ store: { dataDir, embeddedPort: 0 } }).store;
  const theirs = await klinesFromFile(path, 'usdm');
  const db = await openDatabase(store, { logger });
  const victim = theirs[5]!;
  await insertCandles(db, 'usdm', theirs);
  // The spot BTCUSDT candles of the same minutes differ: verify of the usdm instrument must not read them.
  await insertCandles(
    db,
    'spot',
    theirs.map((k) => edited(k, 'volume')),
  );
  const stored = await storedCandles(db, { exchange: 'binance', market: 'usdm', symbol: 'BTCUSDT' }, theirs[0]!.openTime, victim.openTime + 60_000);
  assert.equal(stored.complete.get(victim.openTime)?.volume.replace(/0+$/, ''), victim.volume.replace(/0+$/, ''));
  await db.close();
  const args = [
    'verify',
    '--symbol',
    'BTCUSDT',
    '--from',
    '2024-08-08T23:31Z',
    '--to',
    '2024-08-09T00:20Z',
    '--against',
    path,
    '--market',
    'usdm',
    '--data-dir',
    dataDir,
    '--set',
    'store.embeddedPort=0',
  ];
  const ok = spawnTickflow(args);
  assert.equal(await ok.exited, 0, `${ok.stdout()}${ok.stderr()}`);
  assert.match(ok.stdout(), /49 candles compared, 0 incomplete skipped, 0 mismatches/);
  // A period the file does not cover compares nothing: that is a failed check, not a pass.
  const none = spawnTickflow(args.map((a) => (a === '2024-08-08T23:31Z' ? '2024-08-07T00:00Z' : a === '2024-08-09T00:20Z' ? '2024-08-07T01:00Z' : a)));
  assert.equal(await none.exited, 1, `${none.stdout()}${none.stderr()}`);
  assert.match(none.stdout(), /0 candles compared/);
  assert.match(none.stderr(), /nothing to compare/);

  const again = await openDatabase(store, { logger });
  await again.query(`UPDATE candles SET taker_buy_quote_volume = $1 WHERE market = 'usdm' AND window_start = $2`, [
    bump(victim.takerBuyQuoteVolume),
    new Date(victim.openTime).toISOString(),
  ]);
  await again.close();
  const bad = spawnTickflow(args);
  assert.equal(await bad.exited, 1, `${bad.stdout()}${bad.stderr()}`);
  const minute = new Date(victim.openTime).toISOString().slice(0, 16);
  assert.match(
    bad.stdout(),
    new RegExp(`${minute} +takerBuyQuoteVolume +${bump(victim.takerBuyQuoteVolume).replace('.', '\\.')} +${victim.takerBuyQuoteVolume.replace('.', '\\.')}`),
  );
});

test('tickflow verify on a recording: the candles a replay of the USD-M recording built equal the official klines (exit 0); one edited by a unit is caught (exit 1)', async (t) => {
  const recording = sharedData(t, 'binance-usdm-ws', 'btcusdt_20240808.gz');
  const official = sharedData(t, 'official-klines', EXCERPT);
  if (recording === undefined || official === undefined) return;
  const dir = await mkdtemp(join(tmpdir(), 'tf-verify-rec-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const dataDir = join(dir, 'db');
  const replay = spawnTickflow([
    'run',
    '--source',
    `replay:${recording}`,
    '--market',
    'usdm',
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--set',
    'store.embeddedPort=0',
  ]);
  t.after(() => replay.child.kill('SIGKILL'));
  assert.equal(await replay.exited, 0, replay.stderr().slice(-2000));

  // The recording covers 23:54:16 to about 00:00:01 (no trade of 00:00 in it): partial minutes are incomplete, skipped.
  const args = [
    'verify',
    '--symbol',
    'BTCUSDT',
    '--from',
    '2024-08-08T23:54Z',
    '--to',
    '2024-08-09T00:00Z',
    '--against',
    official,
    '--market',
    'usdm',
    '--data-dir',
    dataDir,
    '--set',
    'store.embeddedPort=0',
  ];
  const ok = spawnTickflow(args);
  assert.equal(await ok.exited, 0, `${ok.stdout()}${ok.stderr()}`);
  const summary = /(\d+) candles compared, (\d+) incomplete skipped, 0 mismatches/.exec(ok.stdout());
  assert.ok(summary !== null, ok.stdout());
  assert.ok(Number(summary[1]) >= 4, `complete minutes of the recording compared: ${summary[1]}`);

  const store = configSchema.parse({ store: { dataDir, embeddedPort: 0 } }).store;
  const db = await openDatabase(store, { logger });
  const [victim] = await db.query<{ start: Date; close: string }>(
    `SELECT window_start AS start, close::text AS close FROM candles WHERE market = 'usdm' AND symbol = 'BTCUSDT' AND interval = '1m' AND is_complete
     AND window_start >= '2024-08-08T23:54Z' ORDER BY window_start LIMIT 1`,
  );
  assert.ok(victim !== undefined, 'a complete stored minute');
  const theirs = (await klinesFromFile(official, 'usdm')).find((k) => k.openTime === new Date(victim.start).getTime());
  assert.ok(theirs !== undefined);
  await db.query(`UPDATE candles SET close = $1 WHERE market = 'usdm' AND symbol = 'BTCUSDT' AND interval = '1m' AND window_start = $2`, [
    bump(theirs.close),
    victim.start,
  ]);
  await db.close();
  const bad = spawnTickflow(args);
  assert.equal(await bad.exited, 1, `${bad.stdout()}${bad.stderr()}`);
  const minute = new Date(victim.start).toISOString().slice(0, 16);
  assert.match(bad.stdout(), new RegExp(`${minute} +close +${bump(theirs.close).replace('.', '\\.')} +${theirs.close.replace('.', '\\.')}`));
});
