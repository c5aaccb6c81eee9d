/**
 * `tickflow ingest` (simulator WebSocket → Kafka, acks=all, idempotent, lz4) at a ladder of offered
 * rates, each step with a fresh simulator process, a fresh ingest process and fresh topics:
 *
 * - **CPU seconds per 100k messages** of the ingest process over the window (from /proc, so the
 *   figure does not depend on how much of a core the process got on a loaded machine);
 * - **zero loss**: after the window the simulator stops sending (its stall fault) and the run waits
 *   until ingest has written everything; then the topic must hold exactly the trades the simulator
 *   reports as emitted (`/sim/emitted`), in one contiguous id range per symbol, with no gap, no
 *   reconnect, no dead letter and no slow-consumer cut. A step with any loss is a failure (exit 1),
 *   never a throughput;
 * - **held**: ingest produced at least 97 % of what the simulator emitted during the window. When
 *   the simulator itself emitted less than 97 % of the offered rate, the simulator is the ceiling
 *   at that step and the line says so.
 *
 * Yardsticks in the same run: the simulator's own ceiling (what it delivers to a client that reads
 * only frame headers and ids, bench/support/frame-counter.ts, at the top offered rate), `JSON.parse`
 * of the frames it sent, on one core, and with `--java` Kafka's ProducerPerformance with the
 * records ingest wrote as its payloads. `--profile <dir>` runs the ingest processes with
 * `--cpu-prof` (BENCH_CPU_PROF_DIR, bench/support/children.ts) and prints the top self-time
 * functions of each step from its first to its last frame (bench/profile-summary.ts).
 *
 * Run: `node --import tsx bench/ingest-produce.ts [--seconds 20] [--rates 20000,40000,80000]
 * [--profile dir] [--java]` (rates: trades/s in total over 4 symbols).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configSchema } from '../src/config/schema.js';
import { REPO_ROOT } from '../test/support/data.js';
import { kafkaBrokers, kafkaTool } from '../test/support/kafka.js';
import { sampleProcess, type SimProcess, simSourceArgs, startSimProcess } from './support/children.js';
import { selfTimes } from './profile-summary.js';
import { producerPerformance } from './support/producer-performance.js';
import { FrameCounter } from './support/frame-counter.js';
import { failOnProblems, jsonParseRate, machine, printMachine } from './support/report.js';
import { benchTopics, deleteTopics, endOffsets, metricSum, sleep, startRole } from './support/roles.js';

const { values: flags } = parseArgs({
  options: {
    seconds: { type: 'string', default: '20' },
    rates: { type: 'string', default: '20000,40000,80000' },
    profile: { type: 'string' },
    java: { type: 'boolean', default: false },
  },
});
const SECONDS = Number(flags.seconds);
const RATES = flags.rates.split(',').map(Number);
const SYMBOLS = ['BTCUSDT', 'ETHUSDT', 'BNBUSDT', 'SOLUSDT'];
const STREAMS = SYMBOLS.map((s) => `${s.toLowerCase()}@trade`);
const WARMUP_MS = 5_000;
/** How long the end of a step waits for ingest to write what it still holds, without progress. */
const DRAIN_IDLE_MS = 15_000;
const HELD = 0.97;

// kafka.sh keeps the broker's pid in its home (TICKFLOW_KAFKA_DIR when a private broker runs).
const BROKER_PID = join(process.env.TICKFLOW_KAFKA_DIR ?? join(REPO_ROOT, '.tickflow', 'kafka'), 'broker.pid');
const brokerPid = existsSync(BROKER_PID) ? Number(readFileSync(BROKER_PID, 'utf8')) : undefined;

interface Step {
  readonly offered: number;
  readonly emittedPerS: number;
  readonly producedPerS: number;
  readonly cpuPer100k: number;
  readonly cores: Record<string, number>;
  readonly exact: boolean;
  readonly held: boolean;
  readonly simCeiling: boolean;
  readonly load: string;
  readonly problems: readonly string[];
  readonly written: number;
}

const cpu = (pids: Record<string, number | undefined>): Record<string, number> =>
  Object.fromEntries(Object.entries(pids).flatMap(([name, pid]) => (pid === undefined ? [] : [[name, sampleProcess(pid).cpuSeconds]])));

const emittedTrades = async (sim: SimProcess): Promise<{ count: number; ranges: number }> => {
  const report = await sim.emitted();
  let count = 0;
  let ranges = 0;
  for (const stream of STREAMS) {
    count += report[stream]?.count ?? 0;
    ranges += report[stream]?.ranges.length ?? 0;
  }
  return { count, ranges };
};

/** The simulator alone at `rate`, read by a client that costs next to nothing: its ceiling here, and frames for JSON.parse. */
async function simulatorCeiling(rate: number): Promise<{ framesPerS: number; frames: string[] }> {
  const sim = await startSimProcess({ symbols: SYMBOLS, tradesPerSecond: rate / SYMBOLS.length });
  try {
    const counter = await FrameCounter.open(`${sim.wsBaseUrl}/stream?streams=${STREAMS.join('/')}`);
    counter.keep(20_000);
    await sleep(3_000);
    const f0 = counter.frames;
    const t0 = performance.now();
    await sleep(10_000);
    const framesPerS = (counter.frames - f0) / ((performance.now() - t0) / 1000);
    counter.close();
    return { framesPerS, frames: counter.kept };
  } finally {
    await sim.stop();
  }
}

async function runStep(offered: number, profileDir: string | undefined): Promise<Step> {
  const problems: string[] = [];
  const { topics, sets } = benchTopics('ingest');
  const sim = await startSimProcess({ symbols: SYMBOLS, tradesPerSecond: offered / SYMBOLS.length });
  try {
    // startRole profiles the role when BENCH_CPU_PROF_DIR is set (profilingArgs).
    if (profileDir === undefined) delete process.env.BENCH_CPU_PROF_DIR;
    else process.env.BENCH_CPU_PROF_DIR = profileDir;
    const ingest = await startRole('ingest', [...simSourceArgs(sim, SYMBOLS, 'trade'), ...sets]);
    const produced = async (): Promise<number> => metricSum(await ingest.metrics(), 'tickflow_events_produced_total');
    const pids = { ingest: ingest.cli.child.pid, simulator: sim.pid, broker: brokerPid };
    await sleep(WARMUP_MS);
    const [p0, e0] = [await produced(), (await emittedTrades(sim)).count];
    const cpu0 = cpu(pids);
    const t0 = performance.now();
    await sleep(SECONDS * 1_000);
    const [p1, e1] = [await produced(), (await emittedTrades(sim)).count];
    const cpu1 = cpu(pids);
    const elapsed = (performance.now() - t0) / 1000;
    const load = machine().replace(/.*load average /, '');

    // Stop the feed, then wait until ingest has written everything it received.
    await sim.stall(10 * 60_000);
    const emitted = await emittedTrades(sim);
    let last = -1;
    let lastChange = Date.now();
    for (;;) {
      const now = await produced();
      if (now >= emitted.count) break;
      if (now !== last) [last, lastChange] = [now, Date.now()];
      else if (Date.now() - lastChange > DRAIN_IDLE_MS) break;
      await sleep(200);
    }
    const final = await ingest.metrics();
    const stats = (await (await fetch(`${sim.restBaseUrl}/sim/stats`)).json()) as { slowConsumerDisconnects?: number };
    await ingest.stop();
    const written = Number((await endOffsets([topics.trades!])).get(topics.trades!)?.reduce((a, b) => a + b, 0n) ?? 0n);

    const checks: [string, number][] = [
      ['reconnects', metricSum(final, 'tickflow_websocket_reconnects_total')],
      ['gaps', metricSum(final, 'tickflow_gaps_detected_total')],
      ['missing trade ids', metricSum(final, 'tickflow_gap_missing_ids_total')],
      ['dead letters', metricSum(final, 'tickflow_dead_letters_total')],
      ['slow-consumer cuts', stats.slowConsumerDisconnects ?? 0],
    ];
    for (const [what, n] of checks) if (n > 0) problems.push(`${offered}/s: ${n} ${what}`);
    if (written !== emitted.count) problems.push(`${offered}/s: the simulator emitted ${emitted.count} trades, the topic holds ${written}`);
    if (emitted.ranges !== STREAMS.length) problems.push(`${offered}/s: emitted ids are ${emitted.ranges} ranges for ${STREAMS.length} streams`);
    if (written === 0) problems.push(`${offered}/s: ingest wrote nothing:\n${ingest.cli.stderr().slice(-2000)}`);

    const producedPerS = (p1 - p0) / elapsed;
    const emittedPerS = (e1 - e0) / elapsed;
    const ingestCpu = (cpu1.ingest ?? NaN) - (cpu0.ingest ?? NaN);
    return {
      offered,
      emittedPerS,
      producedPerS,
      cpuPer100k: (ingestCpu / (p1 - p0)) * 100_000,
      cores: Object.fromEntries(Object.entries(cpu1).map(([name, s]) => [name, (s - (cpu0[name] ?? 0)) / elapsed])),
      exact: problems.length === 0,
      held: problems.length === 0 && producedPerS >= HELD * emittedPerS,
      simCeiling: emittedPerS < HELD * offered,
      load,
      problems,
      written,
    };
  } finally {
    await sim.stop();
    await deleteTopics(Object.values(topics));
  }
}

/** ProducerPerformance with `samples` (record values ingest wrote) as its payloads: the Java client's rate on this broker now. */
async function javaYardstick(samples: readonly string[], records: number): Promise<number> {
  const bus = configSchema.parse({}).bus;
  const { topics } = benchTopics('ingest-java');
  try {
    await kafkaTool('org.apache.kafka.tools.TopicCommand', [
      '--bootstrap-server',
      kafkaBrokers()[0]!,
      '--create',
      '--topic',
      topics.trades!,
      '--partitions',
      String(bus.partitions),
    ]);
    const { rate, summary } = await producerPerformance(topics.trades!, samples, records, bus);
    console.log(`java summary: ${summary}`);
    return rate;
  } finally {
    await deleteTopics([topics.trades!]);
  }
}

/** The top self-time functions of the ingest process profiled in `dir`, from its first to its last frame. */
function printProfiles(dir: string): void {
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    let times: ReturnType<typeof selfTimes>;
    try {
      times = selfTimes(JSON.parse(readFileSync(join(dir, file), 'utf8')) as Parameters<typeof selfTimes>[0], 'onFrame');
    } catch {
      continue; // a helper process of the role (no frames)
    }
    console.log(`  profile ${file}: ${(times.total / 1e6).toFixed(1)} s sampled from the first to the last frame`);
    for (const [name, us] of [...times.byFunction].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
      console.log(`  ${((100 * us) / times.total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
    }
  }
}

printMachine('start');
const top = Math.max(...RATES);
const ceiling = await simulatorCeiling(top);
const parseRate = jsonParseRate(ceiling.frames, 2_000);
console.log(
  `yardstick: the simulator alone offered ${top}/s delivers ${ceiling.framesPerS.toFixed(0)} trades/s to a header-only client (load ${machine().replace(/.*load average /, '')})`,
);
console.log(`yardstick: JSON.parse of ${ceiling.frames.length} of its frames on one core: ${parseRate.toFixed(0)} frames/s`);

const steps: Step[] = [];
for (const rate of RATES) {
  const dir = flags.profile === undefined ? undefined : join(flags.profile, `ingest-${rate}`);
  if (dir !== undefined) mkdirSync(dir, { recursive: true });
  const step = await runStep(rate, dir);
  steps.push(step);
  const cores = Object.entries(step.cores)
    .map(([n, c]) => `${n} ${c.toFixed(2)}`)
    .join(', ');
  console.log(
    `offered ${rate}/s: simulator emitted ${step.emittedPerS.toFixed(0)}/s, ingest produced ${step.producedPerS.toFixed(0)}/s; ` +
      `ingest ${step.cpuPer100k.toFixed(2)} CPU s per 100k msgs; cores ${cores}; ${step.written} records; ` +
      `${step.exact ? 'exact' : 'LOSS'}${step.held ? ', held' : ', not held'}${step.simCeiling ? ' (the simulator did not reach the offered rate: it is the ceiling here)' : ''}; load ${step.load}`,
  );
  if (dir !== undefined) printProfiles(dir);
}

if (flags.java) {
  const java = await javaYardstick(
    ceiling.frames.map((f) => f.slice(f.indexOf('"data":') + 7, -1)),
    500_000,
  );
  console.log(`yardstick: Kafka ProducerPerformance (Java) with the trade payloads, acks=all, idempotent, lz4: ${java.toFixed(0)} records/s`);
}
const heldSteps = steps.filter((s) => s.held);
const best = heldSteps.reduce((m, s) => Math.max(m, s.producedPerS), 0);
console.log(
  `highest rate held with zero loss: ${best.toFixed(0)} msgs/s (JSON.parse yardstick ${parseRate.toFixed(0)}/s, simulator ceiling ${ceiling.framesPerS.toFixed(0)}/s)`,
);
console.log(`ingest CPU seconds per 100k msgs: ${steps.map((s) => `${s.cpuPer100k.toFixed(2)} at ${s.offered}/s`).join(', ')}`);
printMachine('end');
failOnProblems(steps.flatMap((s) => s.problems));
