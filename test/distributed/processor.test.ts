import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { PROCESSOR_GROUP } from '../../src/processors/processor-role.js';
import { sharedData } from '../support/data.js';
import { uniquePrefix } from '../support/kafka.js';
import { freshDatabase } from '../support/postgres.js';
import { cluster, type Cluster, describeGroup, type RunningRole, startRole, withDb } from '../support/roles.js';
import { waitFor } from '../support/wait.js';

const TABLES = ['candles', 'trade_metrics', 'spread_metrics', 'whale_trades'] as const;
// Two partitions put BTCUSDT and ETHUSDT on different ones (murmur2), so each partition holds one
// recording in file order and the offsets are the same in every topic set fed from the files.
const BUS = ['--set', 'bus.partitions=2'];
// The recordings are from 2024: every role opening the store applies retention, which would drop
// whale_trades rows (a partitioned table) that an earlier instance wrote from them.
const PROCESS = [...BUS, '--set', 'processor.triggerIntervalMs=500', '--set', 'store.retentionDays=36500'];
const EARLIEST = { TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest' };

/** A topic set and database of its own, fed the same recordings (deterministic input). */
async function fedCluster(t: TestContext, name: string, files: readonly string[]): Promise<Cluster> {
  const on = cluster(t, uniquePrefix(name), await freshDatabase(t));
  await feed(t, on, files);
  return on;
}

/** Replays the recordings into the cluster's topics at full speed, until each replay finished. */
async function feed(t: TestContext, on: Cluster, files: readonly string[]): Promise<void> {
  await Promise.all(
    files.map(async (file) => {
      const ingest = await startRole(t, 'ingest', on, ['--source', `replay:${file}`, '--speed', '0', ...BUS]);
      const source = async () => (await ingest.health()).components.source?.details;
      await waitFor('the replay finished', async () => (await source())?.finished === true, { progress: async () => (await source())?.lastMessageAt });
      ingest.child.kill('SIGTERM');
      assert.equal(await ingest.exited, 0, ingest.stderr().slice(-2000));
    }),
  );
}

/** Resolves once the processor has handled a batch and then none for 3 s (its input is used up). */
async function idle(processor: RunningRole): Promise<void> {
  let last: unknown = null;
  let since = Date.now();
  await waitFor(
    'the processor idle',
    async () => {
      const now = (await processor.health()).components.processor?.details?.lastBatchAt ?? null;
      if (now !== last) [last, since] = [now, Date.now()];
      return now !== null && Date.now() - since > 3_000;
    },
    120_000,
  );
}

/** Per table, symbol and interval: the highest bus offset in a row (partial rows are written every 500 ms). */
async function progress(on: Cluster): Promise<string> {
  return withDb(on.dbUrl, async (db) =>
    JSON.stringify(
      await db.query(`SELECT 'candles' AS t, symbol, interval, max(source_offset)::text AS o FROM candles GROUP BY 1, 2, 3
                      UNION ALL SELECT 'spread', symbol, interval, max(source_offset)::text FROM spread_metrics GROUP BY 1, 2, 3
                      ORDER BY 1, 2, 3`),
    ),
  );
}

/** Waits until the run's rows reach as far into the input as the uninterrupted run's did. */
async function caughtUp(on: Cluster, done: string, roles: readonly RunningRole[]): Promise<void> {
  try {
    await waitFor('the processor through the whole input', async () => (await progress(on)) === done, { progress: () => progress(on), limitMs: 90_000 });
  } catch (err) {
    const logs = roles.map((r) =>
      r
        .stderr()
        .split('\n')
        .filter((l) => !l.includes('"level":30') || /assign|revoke|rebalance|join/i.test(l))
        .slice(-40)
        .join('\n'),
    );
    throw new Error(`${String(err)}\nreached ${await progress(on)}\nexpected ${done}\n${logs.join('\n-----\n')}`);
  }
}

async function stop(processor: RunningRole): Promise<void> {
  processor.child.kill('SIGTERM');
  assert.equal(await processor.exited, 0, processor.stderr().slice(-2000));
}

async function tables(on: Cluster): Promise<Record<string, string[]>> {
  return withDb(on.dbUrl, async (db) => {
    const out: Record<string, string[]> = {};
    for (const table of TABLES) {
      out[table] = (await db.query<{ r: string }>(`SELECT row_to_json(t)::text AS r FROM ${table} t ORDER BY 1`)).map((x) => x.r);
    }
    return out;
  });
}

function assertSameTables(actual: Record<string, string[]>, expected: Record<string, string[]>, what: string): void {
  for (const table of TABLES) {
    const a = actual[table]!;
    const e = expected[table]!;
    if (isDeepStrictEqual(a, e)) continue;
    const onlyA = a.filter((r) => !e.includes(r));
    const onlyE = e.filter((r) => !a.includes(r));
    assert.fail(
      `${what}: ${table} differs (${a.length} vs ${e.length} rows)\nonly in ${what}:\n${onlyA.slice(0, 3).join('\n')}\nonly in the uninterrupted run:\n${onlyE.slice(0, 3).join('\n')}`,
    );
  }
}

test('stream processor over Kafka: kill -9 mid-window + restart, and two instances in one group, equal one uninterrupted run row by row', async (t) => {
  const files = ['btcusdt_20240808.gz', 'ethusdt_20240808.gz'].map((f) => sharedData(t, 'binance-spot-ws', f));
  if (files.some((f) => f === undefined)) return;
  const [btc, eth] = files as [string, string];
  // The run that is killed gets ETHUSDT only after the kill: a processor that went through its whole
  // input before the kill landed (it does, on a quiet machine) would leave restart nothing to recover.
  const [reference, crashed, split] = (await Promise.all([
    fedCluster(t, 'proc-ref', [btc, eth]),
    fedCluster(t, 'proc-kill', [btc]),
    fedCluster(t, 'proc-split', [btc, eth]),
  ])) as [Cluster, Cluster, Cluster];

  // The runs take turns: each joins group tickflow-process, whose members must subscribe alike.
  const one = await startRole(t, 'process', reference, PROCESS, EARLIEST);
  await idle(one);
  await stop(one);
  const expected = await tables(reference);
  const done = await progress(reference);
  for (const table of TABLES) assert.ok(expected[table]!.length > 0, `${table} has rows`);

  const victim = await startRole(t, 'process', crashed, PROCESS, EARLIEST);
  await waitFor('some windows written', async () => (await withDb(crashed.dbUrl, (db) => db.query('SELECT 1 FROM candles LIMIT 1'))).length > 0, 60_000);
  victim.child.kill('SIGKILL');
  assert.equal(await victim.exited, 137);
  const atKill = await tables(crashed);
  assert.ok(!isDeepStrictEqual(atKill, expected), 'killed before the input was processed');
  await feed(t, crashed, [eth]);
  const restarted = await startRole(t, 'process', crashed, PROCESS, EARLIEST);
  await caughtUp(crashed, done, [restarted]);
  await idle(restarted);
  await stop(restarted);
  assertSameTables(await tables(crashed), expected, 'after kill -9 and restart');

  // The second instance joins while the first is busy: a rebalance in the middle of the input.
  const a = await startRole(t, 'process', split, PROCESS, EARLIEST);
  await waitFor('the first instance under way', async () => (await a.health()).components.processor?.details?.lastBatchAt != null, 60_000);
  const b = await startRole(t, 'process', split, PROCESS, EARLIEST);
  await waitFor(
    'both instances holding partitions',
    async () => {
      const group = await describeGroup(split.brokers, PROCESSOR_GROUP, split.prefix);
      return new Set(group.map((p) => p.consumerId).filter((id) => id !== null)).size === 2;
    },
    60_000,
  );
  await caughtUp(split, done, [a, b]);
  await Promise.all([idle(a), idle(b)]);
  await Promise.all([stop(a), stop(b)]);
  assertSameTables(await tables(split), expected, 'two instances');
});
