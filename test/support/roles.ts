import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { TestContext } from 'node:test';
import { Admin } from '@platformatic/kafka';
import pg from 'pg';
import { configSchema } from '../../src/config/schema.js';
import type { EmittedReport } from '../../src/simulator/index.js';
import type { Queryable } from '../../src/store/database.js';
import { type CliProcess, spawnTickflow } from './cli.js';
import { REPO_ROOT } from './data.js';
import { kafkaBrokers, kafkaTool } from './kafka.js';
import { emittedTradeRanges, type Ranges, storedTradeRanges } from './pipeline.js';
import { waitFor } from './wait.js';

export type RoleName = 'ingest' | 'store' | 'process' | 'serve';

/** Where one distributed test's roles meet: its own topics on a broker, its own database. */
export interface Cluster {
  readonly prefix: string;
  readonly brokers: readonly string[];
  readonly dbUrl: string;
  /** The Kafka topic name of a `bus.topics` key. */
  topic(id: keyof typeof DEFAULT_TOPICS): string;
}

const DEFAULT_TOPICS = configSchema.parse({}).bus.topics;

export interface RunningRole extends CliProcess {
  readonly opsUrl: string;
  /** GET /health as JSON (any status). */
  health(): Promise<HealthBody>;
}

export interface HealthBody {
  status: string;
  ready: boolean;
  reasons: string[];
  components: Record<string, { state: string; reason?: string; details?: Record<string, unknown> }>;
}

/** The `--set bus.topics.*=...` arguments that put every topic of a role under the cluster's prefix. */
export function topicArgs(cluster: Cluster): string[] {
  return Object.keys(DEFAULT_TOPICS).flatMap((id) => ['--set', `bus.topics.${id}=${cluster.topic(id as keyof typeof DEFAULT_TOPICS)}`]);
}

export function cluster(t: TestContext, prefix: string, dbUrl: string, brokers: readonly string[] = kafkaBrokers()): Cluster {
  t.after(() => deleteTopics(brokers, prefix));
  return { prefix, brokers, dbUrl, topic: (id) => `${prefix}.${DEFAULT_TOPICS[id]}` };
}

/**
 * Starts `tickflow <role>` as a child process on the cluster (ops server on a free port) and
 * resolves once it logged "tickflow <role> running". The process is SIGKILLed when the test ends
 * if it still runs.
 */
export async function startRole(
  t: TestContext,
  role: RoleName,
  on: Cluster,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<RunningRole> {
  const proc = spawnTickflow(
    [
      role,
      '--bus',
      'kafka',
      '--brokers',
      on.brokers.join(','),
      ...(role === 'ingest' ? [] : ['--db', on.dbUrl]),
      '--health-port',
      '0',
      ...topicArgs(on),
      ...args,
    ],
    env,
  );
  // SIGTERM first: a role that leaves its consumer group cleanly spares the next test a rebalance
  // that waits for a dead member's session to time out.
  t.after(async () => {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    proc.child.kill('SIGTERM');
    const timer = setTimeout(() => proc.child.kill('SIGKILL'), 5_000);
    await proc.exited;
    clearTimeout(timer);
  });
  const line = await proc.waitForLog(new RegExp(`"msg":"tickflow ${role} running"`), 60_000);
  const opsUrl = (JSON.parse(line) as { ops: string }).ops;
  return {
    ...proc,
    opsUrl,
    health: async () => (await (await fetch(`${opsUrl}/health`)).json()) as HealthBody,
  };
}

/** Runs a query against a PostgreSQL URL with a short-lived client. */
export async function withDb<T>(url: string, fn: (db: Queryable) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const db: Queryable = {
      query: async <R extends object>(sql: string, params?: readonly unknown[]) => (await client.query(sql, params ? [...params] : undefined)).rows as R[],
    };
    return await fn(db);
  } finally {
    await client.end();
  }
}

/** Number of duplicate (symbol, kind, trade_id) keys in trades. */
export async function duplicateTrades(db: Queryable): Promise<number> {
  const [row] = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM (SELECT symbol, kind, trade_id FROM trades GROUP BY 1, 2, 3 HAVING count(*) > 1) d',
  );
  return row!.n;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export interface PrivateService {
  readonly env: Record<string, string>;
  start(): void;
  stop(): void;
}

/**
 * A second Kafka broker of this test's own (kafka.sh with its own dir and ports, jars shared with
 * the main install), so stopping it disturbs no other test. Stopped and removed when the test ends.
 */
export async function privateKafka(t: TestContext): Promise<PrivateService & { brokers: string[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'tf-kafka-'));
  const port = await freePort();
  const env = {
    TICKFLOW_KAFKA_DIR: dir,
    TICKFLOW_KAFKA_PORT: String(port),
    TICKFLOW_KAFKA_CONTROLLER_PORT: String(await freePort()),
    // The jars the main install resolved: nothing is downloaded again.
    TICKFLOW_KAFKA_LIBS: join(REPO_ROOT, '.tickflow', 'kafka', 'libs'),
  };
  return { ...privateService(t, 'kafka.sh', dir, env), brokers: [`127.0.0.1:${port}`] };
}

/** A throwaway PostgreSQL cluster (postgres.sh with its own dir and port); its server URL. */
export async function privatePostgres(t: TestContext): Promise<PrivateService & { url: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'tf-pg-'));
  const env = { TICKFLOW_PG_DIR: dir, TICKFLOW_PG_PORT: String(await freePort()) };
  const service = privateService(t, 'postgres.sh', dir, env);
  service.start();
  const url = execFileSync('bash', [join(REPO_ROOT, 'scripts', 'services', 'postgres.sh'), 'url'], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  }).trim();
  return { ...service, url };
}

function privateService(t: TestContext, script: string, dir: string, env: Record<string, string>): PrivateService {
  const run = (command: string) =>
    execFileSync('bash', [join(REPO_ROOT, 'scripts', 'services', script), command], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
      timeout: 180_000,
    });
  t.after(() => {
    try {
      run('stop');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  return { env, start: () => void run('start'), stop: () => void run('stop') };
}

async function deleteTopics(brokers: readonly string[], prefix: string): Promise<void> {
  const admin = new Admin({ clientId: 'test-cleanup', bootstrapBrokers: [...brokers], timeout: 5_000, retries: 1 });
  try {
    const mine = (await admin.listTopics()).filter((topic) => topic.startsWith(prefix));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine });
  } catch {
    // The broker of a private cluster may already be gone; its data dir goes with it.
  } finally {
    await admin.close().catch(() => undefined);
  }
}

export const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Waits until the database's trade id ranges equal what the simulator emitted — failing when the
 * stored ranges stood still for `idleMs`, however long the store takes while it advances — then
 * asserts exactly that and no duplicate ids: every produced event stored exactly once.
 */
export async function assertStoredExactlyEmitted(dbUrl: string, emitted: EmittedReport, idleMs = 60_000): Promise<void> {
  const expected = emittedTradeRanges(emitted);
  assert.ok(expected.size > 0, 'the simulator emitted trades');
  for (const [stream, ranges] of expected) assert.ok(ranges.length > 0 && ranges[0]![1] - ranges[0]![0] > 50, `${stream} emitted enough to be meaningful`);
  let stored = new Map<string, Ranges>();
  const storedNow = async () => {
    stored = await withDb(dbUrl, storedTradeRanges).catch(() => stored);
    return isDeepStrictEqual(stored, expected);
  };
  // A wait that ends without them equal falls through to the assertions, which show the difference
  // and say why the wait ended: stored ids that stood still (stuck, or ids that never reached the
  // bus) or that were still advancing at waitFor's cap (slow).
  const waited = await waitFor('the stored trade ids to equal the emitted ones', storedNow, {
    progress: () => [...stored],
    limitMs: idleMs,
    everyMs: 500,
  }).then(
    () => '',
    (err: unknown) => ` (${(err as Error).message})`,
  );
  for (const [stream, ranges] of expected) assert.deepEqual(stored.get(stream), ranges, `${stream}: stored id ranges equal the emitted ones${waited}`);
  assert.deepEqual([...stored.keys()].sort(), [...expected.keys()].sort());
  assert.equal(await withDb(dbUrl, duplicateTrades), 0, 'no trade stored twice');
}

export interface GroupPartition {
  readonly topic: string;
  readonly partition: number;
  /** Committed offset, null when none. */
  readonly offset: number | null;
  /** The member that holds it, null when unassigned. */
  readonly consumerId: string | null;
}

/** Kafka's own view of a consumer group (ConsumerGroupCommand --describe), limited to topics under `prefix`. */
export async function describeGroup(brokers: readonly string[], group: string, prefix: string): Promise<GroupPartition[]> {
  const out = await kafkaTool('org.apache.kafka.tools.consumer.group.ConsumerGroupCommand', [
    '--bootstrap-server',
    brokers.join(','),
    '--describe',
    '--group',
    group,
  ]);
  const rows: GroupPartition[] = [];
  for (const line of out.split('\n')) {
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID
    const [, topic, partition, offset, , , consumerId] = line.trim().split(/\s+/);
    if (topic === undefined || !topic.startsWith(prefix)) continue;
    rows.push({
      topic,
      partition: Number(partition),
      offset: offset === undefined || offset === '-' ? null : Number(offset),
      consumerId: consumerId === undefined || consumerId === '-' ? null : consumerId,
    });
  }
  return rows.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
}
