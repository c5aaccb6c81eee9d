import { randomBytes } from 'node:crypto';
import { Admin, Consumer } from '@platformatic/kafka';
import pg from 'pg';
import { KafkaBus } from '../../src/bus/kafka/index.js';
import { configSchema } from '../../src/config/schema.js';
import type { TradeEvent } from '../../src/core/events.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { type CliProcess, spawnTickflow } from '../../test/support/cli.js';
import { profilingArgs } from './children.js';
import { withPayloads } from './recorded-trades.js';
import { kafkaBrokers } from '../../test/support/kafka.js';
import { postgresUrl } from '../../test/support/postgres.js';

/**
 * Helpers for the distributed-mode benchmarks: the real `tickflow <role>` processes, their
 * /metrics, Kafka offsets seen from outside, and a database of their own.
 */

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export interface RoleProcess {
  readonly cli: CliProcess;
  readonly opsUrl: string;
  metrics(): Promise<string>;
  /** SIGTERM (the role flushes and leaves its group), then SIGKILL after 60 s. */
  stop(): Promise<number>;
}

/**
 * `tickflow <role> --bus kafka --health-port 0 ...args`, resolved once it logs "running" (profiled:
 * profilingArgs); `entry` as spawnTickflow's.
 */
export async function startRole(role: 'ingest' | 'store' | 'process', args: readonly string[], entry: 'source' | 'compiled' = 'source'): Promise<RoleProcess> {
  const cli = spawnTickflow([role, '--bus', 'kafka', '--brokers', kafkaBrokers().join(','), '--health-port', '0', ...args], {}, profilingArgs(), entry);
  let opsUrl: string;
  try {
    opsUrl = (JSON.parse(await cli.waitForLog(new RegExp(`"msg":"tickflow ${role} running"`), 90_000)) as { ops: string }).ops;
  } catch (err) {
    cli.child.kill('SIGKILL');
    throw err;
  }
  return {
    cli,
    opsUrl,
    metrics: async () => (await fetch(`${opsUrl}/metrics`)).text(),
    stop: async () => {
      if (cli.child.exitCode !== null || cli.child.signalCode !== null) return cli.exited;
      cli.child.kill('SIGTERM');
      const timer = setTimeout(() => cli.child.kill('SIGKILL'), 60_000);
      try {
        return await cli.exited;
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/**
 * Fills the bench's topics (benchTopics().topics) as the ingest role writes them: `events` with
 * Binance's payload (Kafka schema 2, withPayloads), 1,000 a publish and up to 32 publishes in
 * flight, then `after` in one publish once all of them were acknowledged; closes the bus.
 */
export async function prefillTrades(topics: Record<string, string>, events: readonly TradeEvent[], after: readonly TradeEvent[] = []): Promise<void> {
  const base = configSchema.parse({ bus: { kind: 'kafka', brokers: kafkaBrokers() } }).bus;
  const bus = new KafkaBus({ ...base, topics: topics as typeof base.topics }, { logger: silentLogger(), metrics: createMetrics() });
  try {
    await bus.start();
    const inFlight: Promise<void>[] = [];
    for (let i = 0; i < events.length; i += 1_000) {
      inFlight.push(bus.publish(withPayloads(events.slice(i, i + 1_000))));
      if (inFlight.length >= 32) await inFlight.shift();
    }
    await Promise.all(inFlight);
    if (after.length > 0) await bus.publish(withPayloads(after));
  } finally {
    await bus.close();
  }
}
/** Topic names of one benchmark run, and the `--set` flags that point a role at them. */
export function benchTopics(name: string): { topics: Record<string, string>; sets: string[] } {
  const prefix = `bench-${name}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const defaults = configSchema.parse({}).bus.topics;
  const topics = Object.fromEntries(Object.entries(defaults).map(([id, topic]) => [id, `${prefix}.${topic}`]));
  return { topics, sets: Object.entries(topics).flatMap(([id, topic]) => ['--set', `bus.topics.${id}=${topic}`]) };
}

export async function deleteTopics(topics: readonly string[]): Promise<void> {
  const admin = new Admin({ clientId: 'bench-cleanup', bootstrapBrokers: kafkaBrokers() });
  try {
    const existing = new Set(await admin.listTopics());
    const present = topics.filter((t) => existing.has(t));
    if (present.length > 0) await admin.deleteTopics({ topics: present });
  } finally {
    await admin.close();
  }
}

/** Latest offset of every partition of `topics` (records ever written, per partition). */
export async function endOffsets(topics: readonly string[]): Promise<Map<string, bigint[]>> {
  const consumer = new Consumer({ clientId: 'bench-offsets', groupId: `bench-offsets-${randomBytes(4).toString('hex')}`, bootstrapBrokers: kafkaBrokers() });
  try {
    return await consumer.listOffsets({ topics: [...topics] });
  } finally {
    await consumer.close();
  }
}

/** Records in `topics` not yet committed by `group` (a partition without a commit counts whole). */
export async function groupLag(group: string, topics: readonly string[]): Promise<number> {
  const ends = await endOffsets(topics);
  const admin = new Admin({ clientId: 'bench-lag', bootstrapBrokers: kafkaBrokers() });
  try {
    const [offsets] = await admin.listConsumerGroupOffsets({
      groups: [{ groupId: group, topics: topics.map((name) => ({ name, partitionIndexes: (ends.get(name) ?? []).map((_, i) => i) })) }],
    });
    let lag = 0n;
    for (const [topic, partitions] of ends) {
      partitions.forEach((end, p) => {
        const done = offsets?.topics.find((t) => t.name === topic)?.partitions.find((x) => x.partitionIndex === p)?.committedOffset ?? -1n;
        lag += end - (done < 0n ? 0n : done);
      });
    }
    return Number(lag);
  } finally {
    await admin.close();
  }
}

/** A database of its own on the server scripts/services/postgres.sh runs; drop() removes it. */
export async function freshDatabase(name: string): Promise<{ url: string; drop(): Promise<void> }> {
  const server = postgresUrl();
  const db = `tickflow_bench_${name}_${randomBytes(4).toString('hex')}`;
  const admin = async (sql: string): Promise<void> => {
    const client = new pg.Client({ connectionString: server });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${db}`);
  const url = new URL(server);
  url.pathname = `/${db}`;
  return { url: url.toString(), drop: () => admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`) };
}

/** The sum over every series of a counter or gauge whose labels contain `match`. */
export function metricSum(text: string, name: string, match = ''): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!(line.startsWith(`${name}{`) || line.startsWith(`${name} `)) || !line.includes(match)) continue;
    sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

/** Cumulative bucket counts (upper bound → count) of one histogram series. */
export type Buckets = Map<number, number>;

export function histogramBuckets(text: string, name: string, match = ''): Buckets {
  const out: Buckets = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}_bucket{`) || !line.includes(match)) continue;
    const le = /le="([^"]+)"/.exec(line)?.[1];
    if (le === undefined) continue;
    const bound = le === '+Inf' ? Infinity : Number(le);
    out.set(bound, (out.get(bound) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
  }
  return out;
}

/** What was observed between two scrapes of the same histogram. */
export function bucketDelta(after: Buckets, before: Buckets): Buckets {
  return new Map([...after].map(([le, n]) => [le, n - (before.get(le) ?? 0)]));
}

/**
 * The q-quantile by linear interpolation inside the bucket that holds it, as Prometheus'
 * histogram_quantile does; a quantile in the +Inf bucket answers the highest finite bound.
 */
export function bucketQuantile(buckets: Buckets, q: number): number {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Infinity) ?? 0;
  if (total === 0) return NaN;
  const rank = q * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const le of bounds) {
    const count = buckets.get(le)!;
    if (count >= rank) {
      if (le === Infinity) return lowerBound;
      return lowerBound + ((le - lowerBound) * (rank - lowerCount)) / Math.max(1, count - lowerCount);
    }
    lowerBound = le;
    lowerCount = count;
  }
  return lowerBound;
}

/**
 * Members of a consumer group right now. The roles' group ids are fixed (tickflow-store,
 * tickflow-process), so another run's role on the same broker joins the same group and, with the
 * client's round-robin assignor, can leave this run's partitions unassigned: benchmarks check it.
 */
export async function groupMembers(group: string): Promise<number> {
  const admin = new Admin({ clientId: 'bench-group', bootstrapBrokers: kafkaBrokers() });
  try {
    return (await admin.describeGroups({ groups: [group] })).get(group)?.members.size ?? 0;
  } finally {
    await admin.close();
  }
}
