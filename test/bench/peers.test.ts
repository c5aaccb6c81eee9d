import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT, sharedData } from '../support/data.js';

const run = promisify(execFile);

// The seed pipeline's record format (bench/peers/seed_records.py, standard library only) through
// the machine's python3: frame → record → row, and the bad inputs it counts instead of crashing.
const DRIVER = `
import json, sys
sys.path.insert(0, 'bench/peers')
from seed_records import BadInput, frame_to_record, record_to_row
for line in sys.stdin.read().split('\\n\\x1e'):
    try:
        key, value = frame_to_record(line, 1723161253937085)
        print(json.dumps({'key': key.decode(), 'record': json.loads(value), 'row': [str(c) for c in record_to_row(value)]}))
    except BadInput as err:
        print(json.dumps({'bad': err.reason}))
`;

async function seedRecords(frames: readonly string[]): Promise<Record<string, unknown>[]> {
  const child = run('python3', ['-c', DRIVER], { cwd: REPO_ROOT });
  child.child.stdin!.end(frames.join('\n\x1e'));
  const { stdout } = await child;
  return stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

test('seed pipeline records keep Binance trade and aggTrade fields exact, bad frames are reasons', async (t) => {
  const tradeFile = sharedData(t, 'ws-fixtures', 'ws_spot_trade.json');
  const aggFile = sharedData(t, 'ws-fixtures', 'ws_spot_agg_trade.json');
  const bookFile = sharedData(t, 'ws-fixtures', 'ws_spot_ticker_book.json');
  if (tradeFile === undefined || aggFile === undefined || bookFile === undefined) return;
  const [trade, agg, book] = [tradeFile, aggFile, bookFile].map((f) => readFileSync(f, 'utf8'));
  const out = await seedRecords([trade!, agg!, book!, '{"stream":"ethusdt@trade","data":{"e":"trade","s":"ETHUSDT"}}', 'not json']);

  assert.deepEqual(out[0], {
    key: 'ETHUSDT',
    record: {
      exchange: 'binance',
      market: 'spot',
      symbol: 'ETHUSDT',
      type: 'trade',
      trade_id: 705291099,
      price: '4149.74000000',
      quantity: '0.43870000',
      trade_time: 1639351062243,
      event_time: 1639351062244,
      buyer_is_maker: true,
      ingestion_timestamp: 1723161253937085,
    },
    row: [
      'binance',
      'spot',
      'ETHUSDT',
      'trade',
      '705291099',
      '4149.74000000',
      '0.43870000',
      '2021-12-12 23:17:42.243000+00:00',
      'True',
      '2021-12-12 23:17:42.244000+00:00',
      '2024-08-08 23:54:13.937085+00:00',
    ],
  });
  const aggTrade = (out[1] as { record: { type: string; trade_id: number; price: string; quantity: string; buyer_is_maker: boolean } }).record;
  assert.deepEqual(
    [aggTrade.type, aggTrade.trade_id, aggTrade.price, aggTrade.quantity, aggTrade.buyer_is_maker],
    ['aggTrade', 226532, '1632.46000000', '0.34305000', false],
  );
  assert.deepEqual(out.slice(2), [{ bad: 'unsupported event' }, { bad: 'malformed frame' }, { bad: 'malformed frame' }]);
});

test('peers install script refuses an interpreter it cannot use, and leaves the venv alone', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-peers-'));
  try {
    const venv = join(dir, 'venv');
    const err = await run('bash', [join(REPO_ROOT, 'bench', 'peers', 'install.sh')], {
      env: { ...process.env, PYTHON: join(dir, 'no-python'), TICKFLOW_PEERS_VENV: venv },
    }).then(
      () => assert.fail('install.sh accepted a missing interpreter'),
      (e: { code: number; stderr: string }) => e,
    );
    assert.equal(err.code, 1);
    assert.match(err.stderr, /missing or older than 3\.11/);
    assert.equal(existsSync(venv), false);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
