import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { EmittedReport } from '../../src/simulator/index.js';
import { type CliProcess, simRunArgs, spawnTickflow } from '../support/cli.js';
import { readEmbedded, tempDir } from '../support/pipeline.js';
import { waitFor } from '../support/wait.js';

const STREAMS = { 'btcusdt@trade': 'trade', 'btcusdt@aggTrade': 'aggTrade' } as const;

/** `tickflow run --source sim` on `dataDir`, with the URLs of its API and of its in-process simulator. */
async function startRun(dataDir: string): Promise<{ run: CliProcess; api: string; sim: string }> {
  const run = spawnTickflow(simRunArgs(dataDir, 'BTCUSDT', 'trade,aggTrade'));
  const sim = (JSON.parse(await run.waitForLog(/exchange simulator started in-process/, 180_000)) as { rest: string }).rest;
  const api = (JSON.parse(await run.waitForLog(/dashboard and API listening/, 180_000)) as { url: string }).url;
  return { run, api, sim };
}

async function tradesWritten(api: string): Promise<number> {
  const text = await (await fetch(`${api}/metrics`)).text();
  return Number(/^tickflow_rows_written_total\{table="trades"\} (\d+)/m.exec(text)?.[1] ?? 0);
}

/** The highest id stored per stream (what the next start continues from). */
async function lastStored(dataDir: string): Promise<Record<string, number>> {
  return readEmbedded(dataDir, async (db) => {
    const rows = await db.query<{ kind: string; last: string }>(`SELECT kind, max(trade_id)::text AS last FROM trades WHERE symbol = 'BTCUSDT' GROUP BY kind`);
    return Object.fromEntries(rows.map((r) => [r.kind, Number(r.last)]));
  });
}

/**
 * Starts again on `dataDir`, waits until the restart gap of both streams was reported, reads what
 * the new simulator delivered first, and stops with SIGTERM.
 */
async function restart(dataDir: string): Promise<EmittedReport> {
  const { run, api, sim } = await startRun(dataDir);
  try {
    await waitFor(
      'both restart gaps reported',
      async () => (run.stderr().match(/"reason":"restart"[^\n]*gap in id sequence|gap in id sequence[^\n]*"reason":"restart"/g) ?? []).length >= 2,
      120_000,
    );
    await waitFor('trades stored after the restart', async () => (await tradesWritten(api)) > 0, 120_000);
    const emitted = (await (await fetch(`${sim}/sim/emitted`)).json()) as EmittedReport;
    run.child.kill('SIGTERM');
    assert.equal(await run.exited, 0, run.stderr().slice(-2000));
    return emitted;
  } finally {
    run.child.kill('SIGKILL');
  }
}

async function restartGaps(dataDir: string): Promise<{ stream: string; first: number; last: number }[]> {
  return readEmbedded(dataDir, (db) =>
    db.query<{ stream: string; first: number; last: number }>(
      `SELECT stream, first_missing_id::float8 AS first, last_missing_id::float8 AS last FROM gaps WHERE reason = 'restart' ORDER BY first_missing_id, stream`,
    ),
  );
}

test('gaps across restarts: after kill -9 and after SIGTERM of tickflow run --source sim, the ids missed are a gap with exact bounds', async () => {
  const dataDir = tempDir();
  const first = await startRun(dataDir);
  try {
    await waitFor('300 trades stored', async () => (await tradesWritten(first.api)) >= 300, { progress: () => tradesWritten(first.api) });
    first.run.child.kill('SIGKILL');
    await first.run.exited;
  } finally {
    first.run.child.kill('SIGKILL');
  }

  const expected: { stream: string; first: number; last: number }[] = [];
  for (let round = 0; round < 2; round++) {
    // Round 0 follows the kill -9, round 1 the SIGTERM of round 0's process.
    const stored = await lastStored(dataDir);
    const emitted = await restart(dataDir);
    for (const [name, stream] of Object.entries(STREAMS)) {
      const firstNew = emitted[name]?.firstId;
      assert.ok(firstNew !== null && firstNew !== undefined && stored[stream] !== undefined, `${name} delivered and stored`);
      // Everything after the last stored id up to the first one the new simulator delivered was missed.
      expected.push({ stream, first: stored[stream] + 1, last: firstNew - 1 });
    }
  }
  const gaps = await restartGaps(dataDir);
  const sort = (g: typeof gaps) => [...g].sort((a, b) => a.stream.localeCompare(b.stream) || a.first - b.first);
  assert.deepEqual(sort(gaps), sort(expected));
});
