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

const config = () => loadConfig({ env: {} });

/**
 * A temporary folder removed when the test process exits — not in an `after` hook, because hooks
 * run in registration order and a folder made before a pipeline starts would vanish under it
 * while its shutdown still writes.
 */
export function tempDir(prefix = 'tf-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (tempDirs.size === 0) process.once('exit', () => {
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

export async function waitFor(what: string, predicate: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await predicate())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/**
 * Waits until `done()` holds. Fails only when `progress()` — any value that changes while the work
 * advances (ids emitted, rows stored) — stayed the same for `idleMs`: on a busy machine everything
 * is slow, so a wall-clock deadline would fail a run that is merely late.
 */
export async function waitWhileProgressing(
  what: string,
  done: () => boolean | Promise<boolean>,
  progress: () => unknown,
  idleMs = 60_000,
): Promise<void> {
  let seen = JSON.stringify(await progress());
  let lastProgress = Date.now();
  while (!(await done())) {
    const now = JSON.stringify(await progress());
    if (now !== seen) {
      seen = now;
      lastProgress = Date.now();
    } else if (Date.now() - lastProgress > idleMs) {
      throw new Error(`waiting for ${what}: nothing advanced for ${idleMs} ms (last progress ${now})`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Ids (trade, aggTrade, depth) and frames the simulator delivered in all, a measure of its progress. */
export function emittedTotal(report: EmittedReport): number {
  return Object.values(report).reduce((n, s) => n + s.count + s.frames, 0);
}
