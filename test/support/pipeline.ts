import { EventEmitter } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createRoleContext, type RoleContext } from '../../src/pipeline/context.js';
import { startRun, type RunningPipeline } from '../../src/pipeline/run.js';
import type { EmittedReport } from '../../src/simulator/index.js';
import type { Queryable } from '../../src/store/database.js';
import { openDatabase } from '../../src/store/open.js';
import { waitFor } from './wait.js';

const config = () => loadConfig({ env: {} });

/**
 * A temporary folder removed when the test process exits — not in an `after` hook, because hooks
 * run in registration order and a folder made before a pipeline starts would vanish under it
 * while its shutdown still writes.
 */
export function tempDir(prefix = 'tf-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.size === 0)
    process.once('exit', () => {
      for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
    });
  tempDirs.add(dir);
  return dir;
}

const tempDirs = new Set<string>();

export interface TestPipeline {
  readonly ctx: RoleContext;
  readonly pipeline: RunningPipeline;
  /** Runs the real shutdown sequence; resolves with the exit code it chose. */
  stop(): Promise<number>;
}

/** `tickflow run` in this process, with signals and exit captured so the test runner survives. */
export async function startTestPipeline(t: TestContext, overrides: Record<string, unknown>): Promise<TestPipeline> {
  const config = loadConfig({
    env: {},
    overrides: { 'store.embeddedPort': 0, 'api.port': 0, 'ops.statusLine': 'off', 'store.batchMs': 200, ...overrides },
  });
  // The coordinator "exits" when its steps finish or when its deadline passes with one hung: either
  // way the test learns the exit code instead of waiting forever on the hung step.
  let exited!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  const ctx = createRoleContext('run', config, { logger: silentLogger(), signals: new EventEmitter(), exit: (c) => exited(c) });
  const pipeline = await startRun(ctx);
  let stopped: Promise<number> | undefined;
  const stop = (): Promise<number> => {
    if (stopped) return stopped;
    void ctx.shutdown.shutdown('test finished');
    stopped = exitCode;
    return stopped;
  };
  t.after(stop);
  return { ctx, pipeline, stop };
}

/** Opens a stopped pipeline's embedded database to read what it stored. */
export async function readEmbedded<T>(dataDir: string, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const store = { ...config().store, dataDir, embeddedPort: 0 };
  const db = await openDatabase(store, { logger: silentLogger(), skipMigrations: true });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

export type Ranges = [number, number][];

/** Contiguous id runs per `<symbol lower>@<kind>` in the trades table (gaps-and-islands). */
export async function storedTradeRanges(db: Queryable): Promise<Map<string, Ranges>> {
  const rows = await db.query<{ symbol: string; kind: string; first: string; last: string }>(`
    SELECT symbol, kind, min(trade_id)::text AS first, max(trade_id)::text AS last
    FROM (SELECT symbol, kind, trade_id, trade_id - row_number() OVER (PARTITION BY symbol, kind ORDER BY trade_id) AS island
          FROM trades) t
    GROUP BY symbol, kind, island ORDER BY symbol, kind, min(trade_id)`);
  const out = new Map<string, Ranges>();
  for (const r of rows) {
    const key = `${r.symbol.toLowerCase()}@${r.kind}`;
    out.set(key, [...(out.get(key) ?? []), [Number(r.first), Number(r.last)]]);
  }
  return out;
}

/** The holes between the ranges the simulator emitted: the gaps a client must report. */
export function holes(ranges: Ranges): Ranges {
  const out: Ranges = [];
  for (let i = 1; i < ranges.length; i++) out.push([ranges[i - 1]![1] + 1, ranges[i]![0] - 1]);
  return out;
}

export function emittedTradeRanges(report: EmittedReport): Map<string, Ranges> {
  const out = new Map<string, Ranges>();
  for (const [stream, s] of Object.entries(report)) {
    if (/@(trade|aggTrade)$/.test(stream)) out.set(stream, s.ranges);
  }
  return out;
}

// test/pipeline/alerts.test.ts still imports these two from here; every other test imports waitFor
// from ./wait.js, the one helper both are.
export { waitFor } from './wait.js';

/** waitFor with `progress` (see WaitOptions.progress: it must measure the awaited work itself). */
export function waitWhileProgressing(what: string, done: () => boolean | Promise<boolean>, progress: () => unknown, idleMs = 60_000): Promise<true> {
  return waitFor(what, done, { progress, limitMs: idleMs });
}

/**
 * Ids (trade, aggTrade, depth) plus frames that the least advanced of `streams` delivered: a
 * progress measure (WaitOptions.progress) for a wait on all of them, which stands still — and so
 * fails the wait — when one of them stops, however busily the others go on.
 */
export function leastEmitted(report: EmittedReport, streams: readonly string[]): number {
  return Math.min(...streams.map((k) => (report[k]?.count ?? 0) + (report[k]?.frames ?? 0)));
}
