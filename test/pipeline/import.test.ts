import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { TickflowError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/ops/logger.js';
import { importFiles } from '../../src/pipeline/import.js';
import type { Database } from '../../src/store/database.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';
import { spawnTickflow } from '../support/cli.js';
import { sharedData } from '../support/data.js';

const logger = silentLogger();

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tf-import-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function database(t: TestContext): Promise<Database> {
  const dir = await mkdtemp(join(tmpdir(), 'tf-import-'));
  const db = await openEmbedded({ dataDir: dir, port: 0, logger });
  // After hooks run in the order they were added: the folder goes once the server has stopped
  // writing into it (removed first, a WAL file written meanwhile failed the rm with ENOTEMPTY).
  t.after(async () => {
    await db.close();
    await rm(dir, { recursive: true, force: true });
  });
  await migrate(db, { logger, retentionDays: 30 });
  return db;
}

async function count(db: Database, sql: string): Promise<number> {
  const [row] = await db.query<{ n: string | number }>(sql);
  return Number(row?.n ?? -1);
}

const rejected = (pattern: RegExp) => (err: unknown) => err instanceof TickflowError && err.code === 'TF_IMPORT_REJECTED' && pattern.test(err.message);

test('import: official BTCUSDT 1m kline zips with verified checksums, exact values, once', async (t) => {
  const folder = sharedData(t, 'official-klines');
  if (folder === undefined) return;
  const db = await database(t);
  // Only the three zips (+ .CHECKSUM) of the folder, read in place; the folder of them is the argument.
  const files = ['BTCUSDT-1m-2020-01-01.zip', 'BTCUSDT-1m-2020-01-02.zip', 'BTCUSDT-1m-2020-01-03.zip'].map((n) => join(folder, n));
  const result = await importFiles(db, files, 'spot');
  assert.deepEqual(
    result.map((f) => [f.name, f.rows, f.checksum]),
    files.map((f) => [f.split('/').pop(), 1_440, 'verified']),
  );
  assert.equal(await count(db, "SELECT count(*) AS n FROM klines WHERE symbol = 'BTCUSDT' AND interval = '1m'"), 4_320);
  const [first] = await db.query<Record<string, string>>(
    `SELECT open::text, high::text, low::text, close::text, volume::text, quote_volume::text, trade_count::text, taker_buy_volume::text, taker_buy_quote_volume::text
     FROM klines WHERE open_time = '2020-01-01T00:00:00Z'`,
  );
  // The first line of the CSV inside the zip (unzip -p BTCUSDT-1m-2020-01-01.zip | head -1).
  const csvLine =
    '1577836800000,7195.24000000,7196.25000000,7183.14000000,7186.68000000,51.64281200,1577836859999,371233.51835535,493,19.59823000,140888.41428273,0';
  const f = csvLine.split(',');
  assert.deepEqual(Object.values(first ?? {}), [f[1], f[2], f[3], f[4], f[5], f[7], f[8], f[9], f[10]], 'the nine fields as published, digit for digit');
  const again = await importFiles(db, files, 'spot');
  assert.deepEqual(
    again.map((x) => x.checksum),
    ['already', 'already', 'already'],
  );
  assert.equal(await count(db, 'SELECT count(*) AS n FROM klines'), 4_320);
});

test('import refuses a corrupted zip and a bad checksum, and imports nothing half', async (t) => {
  const folder = sharedData(t, 'official-klines');
  if (folder === undefined) return;
  const db = await database(t);
  const dir = await tempDir(t);
  const good = join(folder, 'BTCUSDT-1m-2020-01-01.zip');
  // A corrupted copy without .CHECKSUM: the zip's own CRC-32 must catch it.
  const bytes = await readFile(join(folder, 'BTCUSDT-1m-2020-01-02.zip'));
  const mid = Math.floor(bytes.length / 2);
  bytes[mid] = (bytes[mid] ?? 0) ^ 0xff;
  const corrupted = join(dir, 'BTCUSDT-1m-2020-01-02.zip');
  await writeFile(corrupted, bytes);
  await assert.rejects(importFiles(db, [good, corrupted], 'spot'), rejected(/BTCUSDT-1m-2020-01-02\.zip: .*(CRC-32|decompress|bytes)/));
  assert.equal(await count(db, 'SELECT count(*) AS n FROM klines'), 0, 'the good file in the same import was not written either');
  assert.equal(await count(db, 'SELECT count(*) AS n FROM imported_files'), 0);
  // An intact zip whose published checksum does not match.
  const copy = join(dir, 'BTCUSDT-1m-2020-01-03.zip');
  await copyFile(join(folder, 'BTCUSDT-1m-2020-01-03.zip'), copy);
  await writeFile(`${copy}.CHECKSUM`, `${'0'.repeat(64)}  BTCUSDT-1m-2020-01-03.zip\n`);
  await assert.rejects(importFiles(db, [good, copy], 'spot'), rejected(/does not match BTCUSDT-1m-2020-01-03\.zip\.CHECKSUM/));
  assert.equal(await count(db, 'SELECT count(*) AS n FROM klines'), 0);
  // A zip cut short.
  const truncated = join(dir, 'BTCUSDT-1m-2020-01-04.zip');
  await writeFile(truncated, (await readFile(good)).subarray(0, 30_000));
  await assert.rejects(importFiles(db, [truncated], 'spot'), rejected(/not a zip archive|truncated|outside/));
});

test('import: trades and aggTrades CSVs (spot: no header, True/False; USD-M: a header line, lower case), a malformed row named by its line', async (t) => {
  const db = await database(t);
  const dir = await tempDir(t);
  const trades = join(dir, 'BTCUSDT-trades-2024-08-08.csv');
  await writeFile(
    trades,
    '3721234561,61800.01000000,0.00100000,61.80001000,1723161255208,True,True\n3721234562,61800.02000000,0.50000000,30900.01000000,1723161255209,False,True\n',
  );
  const aggs = join(dir, 'BTCUSDT-aggTrades-2024-08-08.csv');
  await writeFile(
    aggs,
    'agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n2270011001,61800.20,0.014,5123107001,5123107003,1723161256298,false\n',
  );
  const result = await importFiles(db, [dir], 'spot');
  assert.deepEqual(
    result.map((f) => [f.kind, f.rows, f.checksum]),
    [
      ['aggTrades', 1, 'absent'],
      ['trades', 2, 'absent'],
    ],
  );
  const rows = await db.query<{ kind: string; trade_id: string | number; price: string; buyer_is_maker: boolean }>(
    'SELECT kind, trade_id, price::text AS price, buyer_is_maker FROM trades ORDER BY kind, trade_id',
  );
  assert.deepEqual(
    rows.map((r) => [r.kind, Number(r.trade_id), r.price, r.buyer_is_maker]),
    [
      ['aggTrade', 2270011001, '61800.20', false],
      ['trade', 3721234561, '61800.01000000', true],
      ['trade', 3721234562, '61800.02000000', false],
    ],
  );
  const bad = join(dir, 'ETHUSDT-trades-2024-08-08.csv');
  await writeFile(bad, '1,2600.00,1.0,2600.00,1723161255208,True\n2,2600.00,one,2600.00,1723161255209,True\n');
  await assert.rejects(importFiles(db, [bad], 'spot'), rejected(/ETHUSDT-trades-2024-08-08\.csv:2: "qty" is not a decimal/));
  assert.equal(await count(db, "SELECT count(*) AS n FROM trades WHERE symbol = 'ETHUSDT'"), 0, 'line 1 was not kept either');
});

test('tickflow import CLI: a corrupted zip exits 1 with TF_IMPORT_REJECTED', async (t) => {
  const folder = sharedData(t, 'official-klines');
  if (folder === undefined) return;
  const dir = await tempDir(t);
  const bytes = await readFile(join(folder, 'BTCUSDT-1m-2020-01-01.zip'));
  const at = bytes.length - 100;
  bytes[at] = (bytes[at] ?? 0) ^ 0x55;
  const corrupted = join(dir, 'BTCUSDT-1m-2020-01-01.zip');
  await writeFile(corrupted, bytes);
  const cli = spawnTickflow(['import', corrupted, '--data-dir', join(dir, 'db'), '--set', 'store.embeddedPort=0']);
  // Exit 1: a damaged file is a failure of the data, not of the configuration (README "Exit codes").
  assert.equal(await cli.exited, 1, cli.stderr());
  assert.match(cli.stderr(), /TF_IMPORT_REJECTED: BTCUSDT-1m-2020-01-01\.zip/);
});

test("import: a row outside the day or month its file name says (it would overwrite another day's row) is refused naming the line; a date that does not exist is refused", async (t) => {
  const db = await database(t);
  const dir = await tempDir(t);
  // 2020-01-10 by name; line 2 is a kline of 2020-01-01.
  const misnamed = join(dir, 'BTCUSDT-1m-2020-01-10.csv');
  await writeFile(
    misnamed,
    '1578614400000,1.0,1.0,1.0,1.0,1.0,1578614459999,1.0,1,1.0,1.0,0\n1577836800000,2.0,1.0,1.0,1.0,1.0,1577836859999,1.0,1,1.0,1.0,0\n',
  );
  await assert.rejects(
    importFiles(db, [misnamed], 'spot'),
    rejected(/BTCUSDT-1m-2020-01-10\.csv:2: time 1577836800000 \(epoch ms\) is outside 2020-01-10, the day the file name says it holds/),
  );
  const trades = join(dir, 'BTCUSDT-trades-2024-08.csv');
  await writeFile(trades, '1,61800.01,0.001,61.80001,1725148800000,True,True\n');
  await assert.rejects(
    importFiles(db, [trades], 'spot'),
    rejected(/BTCUSDT-trades-2024-08\.csv:1: time 1725148800000 \(epoch ms\) is outside 2024-08, the month/),
  );
  assert.equal(await count(db, 'SELECT count(*) AS n FROM klines'), 0, 'nothing of the refused file is written');
  const impossible = join(dir, 'BTCUSDT-1m-2024-02-30.csv');
  await writeFile(impossible, '1709251200000,1.0,1.0,1.0,1.0,1.0,1709251259999,1.0,1,1.0,1.0,0\n');
  await assert.rejects(importFiles(db, [impossible], 'spot'), rejected(/BTCUSDT-1m-2024-02-30\.csv: the date in the file name does not exist/));
});
