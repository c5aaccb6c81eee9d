import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startSimulator } from '../../../src/simulator/index.js';
import { spawnTickflow } from '../../support/cli.js';
import { startKinesalite, TEST_CREDENTIALS } from '../../support/kinesis.js';
import { leastEmitted, emittedTradeRanges, readEmbedded, storedTradeRanges, tempDir } from '../../support/pipeline.js';
import { waitFor } from '../../support/wait.js';

const SYMBOLS = ['BTCUSDT', 'ETHUSDT'];
const TRADE_STREAMS = SYMBOLS.flatMap((s) => [`${s.toLowerCase()}@trade`, `${s.toLowerCase()}@aggTrade`]);

test("bus.kind=kinesis (kinesalite): tickflow run stores exactly what the simulator emitted through the stream, with the store group's per-shard checkpoints in PostgreSQL at the last record", async (t) => {
  const sim = await startSimulator({ symbols: SYMBOLS, seed: 5, tradesPerSecond: 100, bookTickersPerSecond: 20 });
  t.after(() => sim.close());
  const kinesis = await startKinesalite(t);
  await kinesis.createStream('bus', 2);
  const dataDir = tempDir();
  const run = spawnTickflow(
    [
      'run',
      '--source',
      'binance',
      '--ws-url',
      sim.wsBaseUrl,
      '--rest-url',
      sim.restBaseUrl,
      '--symbols',
      SYMBOLS.join(','),
      '--streams',
      'trade,aggTrade',
      '--data-dir',
      dataDir,
      '--port',
      '0',
      '--set',
      'store.embeddedPort=0',
      '--bus',
      'kinesis',
      '--set',
      `bus.kinesis.endpoint=${kinesis.endpoint}`,
      '--set',
      'bus.kinesis.streamName=bus',
      '--set',
      'bus.kinesis.pollMs=50',
    ],
    { AWS_ACCESS_KEY_ID: TEST_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_CREDENTIALS.secretAccessKey },
  );
  t.after(() => run.child.kill('SIGKILL'));
  const api = (JSON.parse(await run.waitForLog(/dashboard and API listening/)) as { url: string }).url;
  await waitFor(
    'over 100 ids per trade stream emitted',
    () => {
      const ranges = [...emittedTradeRanges(sim.emitted()).values()];
      return ranges.length === 4 && ranges.every((r) => r.length > 0 && r[0]![1] - r[0]![0] > 100);
    },
    { progress: () => leastEmitted(sim.emitted(), TRADE_STREAMS) },
  );
  sim.faults.stall(600_000);
  const frames = Object.values(sim.emitted()).reduce((n, s) => n + s.frames, 0);
  const received = async () => {
    const text = await (await fetch(`${api}/metrics`)).text();
    return [...text.matchAll(/^tickflow_messages_received_total\{[^}]*\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  await waitFor(`tickflow received all ${frames} frames`, async () => (await received()) >= frames, { progress: received });
  // Stored through the stream before the stop: the store group read it back from Kinesis.
  const stored = async () => {
    const text = await (await fetch(`${api}/metrics`)).text();
    return [...text.matchAll(/^tickflow_rows_written_total\{table="trades"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
  };
  const emittedIds = [...emittedTradeRanges(sim.emitted()).values()].flat().reduce((n, [a, b]) => n + b - a + 1, 0);
  await waitFor(`all ${emittedIds} trades written`, async () => (await stored()) >= emittedIds, { progress: stored });
  const emitted = sim.emitted();
  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr().slice(-2000));

  await readEmbedded(dataDir, async (db) => {
    const ranges = await storedTradeRanges(db);
    for (const [stream, expected] of emittedTradeRanges(emitted)) assert.deepEqual(ranges.get(stream), expected, stream);
    // The store group committed after writing: its checkpoint on each shard is the shard's last record.
    const rows = await db.query<{ shard_id: string; sequence_number: string }>(
      "SELECT shard_id, sequence_number::text AS sequence_number FROM kinesis_checkpoints WHERE stream = 'bus' AND consumer_group = 'tickflow-store' ORDER BY 1",
    );
    const records = await kinesis.readStream('bus');
    const lastPerShard = new Map<string, string>();
    for (const r of records) lastPerShard.set(r.shardId, r.sequenceNumber);
    assert.deepEqual(
      rows.map((r) => [r.shard_id, r.sequence_number]),
      [...lastPerShard].sort(),
    );
  });
  const inStream = (await kinesis.readStream('bus')).length;
  assert.ok(inStream >= emittedIds, `the stream carried the events (${inStream})`);
});
