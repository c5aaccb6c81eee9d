import { readdirSync, readFileSync } from 'node:fs';
import type { EmittedReport, SimulatorStats } from '../../src/simulator/index.js';
import { type CliProcess, spawnTickflow } from '../../test/support/cli.js';
import { waitFor } from '../../test/support/wait.js';

/** Kernel clock ticks per second for /proc/<pid>/stat times (100 on every Linux we run on). */
const CLK_TCK = 100;

export interface ProcessSample {
  /** Resident set size (VmRSS), MiB. */
  readonly rssMib: number;
  /** Highest resident set size since the process started (VmHWM), MiB. */
  readonly peakRssMib: number;
  /** User + system CPU time consumed so far (all threads), seconds. */
  readonly cpuSeconds: number;
  /** Main thread (the event loop): time on a CPU, and time runnable but waiting for one, seconds. */
  readonly loopRunSeconds: number;
  readonly loopWaitSeconds: number;
}

/** RSS and CPU time of a live process, from /proc (Linux only). */
export function sampleProcess(pid: number): ProcessSample {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  const peakKb = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th fields.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  // schedstat: ns on the CPU, ns waiting on a run queue, timeslices — the second shows CPU starvation.
  const [run, wait] = readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ').map(Number);
  return {
    rssMib: rssKb / 1024,
    peakRssMib: peakKb / 1024,
    cpuSeconds: ticks / CLK_TCK,
    loopRunSeconds: (run ?? NaN) / 1e9,
    loopWaitSeconds: (wait ?? NaN) / 1e9,
  };
}

/**
 * Node flags for a measured child (the run, a role): with BENCH_CPU_PROF_DIR set, a V8 CPU profile
 * is written there when it exits, named CPU.<date>.<time>.<pid>…cpuprofile (bench/profile-summary.ts reads it).
 */
export function profilingArgs(): string[] {
  const dir = process.env.BENCH_CPU_PROF_DIR;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${dir}`] : [];
}

/**
 * PSS and RSS (MiB) summed over `root` and all its descendants (an embedded PostgreSQL server's
 * processes share their buffers: PSS counts each shared page once across them); `rootPss` is the
 * root's own share.
 */
export function treeMemory(root: number): { pss: number; rss: number; rootPss: number } {
  const parents = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      parents.set(Number(d), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]));
    } catch {
      // exited meanwhile
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parents) {
      if (tree.has(ppid) && !tree.has(pid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  let pss = 0;
  let rss = 0;
  let rootPss = 0;
  for (const pid of tree) {
    try {
      const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
      const own = Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      pss += own;
      if (pid === root) rootPss = own;
      rss += Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
    } catch {
      // exited meanwhile
    }
  }
  return { pss: pss / 1024, rss: rss / 1024, rootPss: rootPss / 1024 };
}

export interface SimProcessOptions {
  readonly symbols: readonly string[];
  /** Per symbol, as `tickflow simulate --trades-per-second`. */
  readonly tradesPerSecond: number;
  /** Per symbol (book updates at the touch); the simulator's default when absent. */
  readonly bookTickersPerSecond?: number;
  readonly seed?: number;
}

/** `tickflow simulate` in its own process, so that it does not share an event loop with what it feeds. */
export interface SimProcess {
  readonly pid: number;
  readonly wsBaseUrl: string;
  readonly restBaseUrl: string;
  emitted(): Promise<EmittedReport>;
  /** GET /sim/stats: connections, slow-consumer cuts, how long the market was slowed down. */
  stats(): Promise<SimulatorStats>;
  /** Sends nothing more (and counts nothing more as emitted) for `ms`, replacing a stall under way (1 ends it). */
  stall(ms: number): Promise<void>;
  /** Every symbol trades at `ratePerSec` for `durationMs`, then at the base rate again. */
  burst(ratePerSec: number, durationMs: number): Promise<void>;
  stop(): Promise<void>;
}

/** `tickflow ingest|run` flags pointing a Binance source at a simulator process for `symbols` and `streams` (comma list). */
export function simSourceArgs(sim: { wsBaseUrl: string; restBaseUrl: string }, symbols: readonly string[], streams: string): string[] {
  return ['--source', 'binance', '--ws-url', sim.wsBaseUrl, '--rest-url', sim.restBaseUrl, '--symbols', symbols.join(','), '--streams', streams];
}

export async function startSimProcess(opts: SimProcessOptions): Promise<SimProcess> {
  const cli = spawnTickflow([
    'simulate',
    '--listen-port',
    '0',
    '--symbols',
    opts.symbols.join(','),
    '--seed',
    String(opts.seed ?? 42),
    '--trades-per-second',
    String(opts.tradesPerSecond),
    ...(opts.bookTickersPerSecond === undefined ? [] : ['--set', `simulator.bookTickersPerSecond=${opts.bookTickersPerSecond}`]),
  ]);
  const wsBaseUrl = await waitForOutput(cli, /WebSocket\s+(ws:\/\/\S+?)\/stream/).catch((err: unknown) => {
    cli.child.kill('SIGKILL');
    throw err;
  });
  const restBaseUrl = wsBaseUrl.replace(/^ws:/, 'http:');
  return {
    pid: cli.child.pid!,
    wsBaseUrl,
    restBaseUrl,
    emitted: async () => (await (await fetch(`${restBaseUrl}/sim/emitted`)).json()) as EmittedReport,
    stats: async () => (await (await fetch(`${restBaseUrl}/sim/stats`)).json()) as SimulatorStats,
    stall: (ms) => fault(restBaseUrl, 'stall', { ms }),
    burst: (ratePerSec, durationMs) => fault(restBaseUrl, 'burst', { ratePerSec, durationMs }),
    stop: async () => {
      await stopChild(cli);
    },
  };
}

async function fault(restBaseUrl: string, name: string, body: Record<string, number>): Promise<void> {
  const res = await fetch(`${restBaseUrl}/sim/faults/${name}`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  if (!res.ok) throw new Error(`simulator refused the ${name}: HTTP ${res.status} ${await res.text()}`);
}

export interface RunProcessOptions {
  /**
   * The simulator feeding the run, WebSocket and REST: with the WebSocket URL alone the source's
   * REST calls (depth snapshots, gap healing) went to the real Binance, which this machine cannot
   * reach, and the retries cost the run 3 % of its busy time at 20,000 frames/s.
   */
  readonly sim: { readonly wsBaseUrl: string; readonly restBaseUrl: string };
  readonly symbols: readonly string[];
  readonly streams: readonly string[];
  readonly dataDir: string;
  /** Extra `--set key=value` pairs. */
  readonly sets?: readonly string[];
  /** Extra flags for the run's node (a V8 flag under test), after the profiling ones. */
  readonly nodeArgs?: readonly string[];
}

/** `tickflow run` (embedded PostgreSQL, in-process bus, processor, API) fed by a simulator. */
export interface RunProcess {
  readonly pid: number;
  readonly cli: CliProcess;
  /** GET /health of its API. */
  health(): Promise<{ components: Record<string, { state: string; details?: Record<string, unknown> }> }>;
  /** Every series of a metric in its /metrics, e.g. tickflow_messages_received_total. */
  series(name: string): Promise<Series[]>;
  /** The sum of every series of a counter. */
  counter(name: string): Promise<number>;
  /** How often the source paused its sockets because the pipeline behind it was full. */
  pauses(): number;
  /** SIGTERM (flushes everything), resolves with the exit code. */
  stop(): Promise<number>;
}

export async function startRunProcess(opts: RunProcessOptions): Promise<RunProcess> {
  const cli = spawnTickflow(
    [
      'run',
      ...simSourceArgs(opts.sim, opts.symbols, opts.streams.join(',')),
      '--data-dir',
      opts.dataDir,
      '--port',
      '0',
      '--set',
      'store.embeddedPort=0',
      ...(opts.sets ?? []).flatMap((s) => ['--set', s]),
    ],
    {},
    [...profilingArgs(), ...(opts.nodeArgs ?? [])],
  );
  let apiUrl: string;
  try {
    const listening = await cli.waitForLog(/"msg":"dashboard and API listening"/, 60_000);
    apiUrl = (JSON.parse(listening) as { url: string }).url;
    await cli.waitForLog(/"msg":"connection open"/, 30_000);
  } catch (err) {
    cli.child.kill('SIGKILL');
    throw err;
  }
  return {
    pid: cli.child.pid!,
    cli,
    health: async () => (await fetch(`${apiUrl}/health`)).json() as ReturnType<RunProcess['health']>,
    series: (name) => series(apiUrl, name),
    counter: async (name) => (await series(apiUrl, name)).reduce((sum, s) => sum + s.value, 0),
    pauses: () => cli.stderr().split('pausing sockets').length - 1,
    stop: () => stopChild(cli),
  };
}

export interface Series {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

async function series(apiUrl: string, name: string): Promise<Series[]> {
  const text = await (await fetch(`${apiUrl}/metrics`)).text();
  const out: Series[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labels: Record<string, string> = {};
    for (const [, k, v] of line.matchAll(/(\w+)="([^"]*)"/g)) labels[k!] = v!;
    out.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return out;
}

/** SIGTERM, then SIGKILL after `timeoutMs`; resolves with the exit code. */
export async function stopChild(cli: CliProcess, timeoutMs = 120_000): Promise<number> {
  if (cli.child.exitCode !== null || cli.child.signalCode !== null) return cli.exited;
  cli.child.kill('SIGTERM');
  const timer = setTimeout(() => cli.child.kill('SIGKILL'), timeoutMs);
  try {
    return await cli.exited;
  } finally {
    clearTimeout(timer);
  }
}

async function waitForOutput(cli: CliProcess, pattern: RegExp, timeoutMs = 60_000): Promise<string> {
  const found = () => {
    if (cli.child.exitCode !== null) throw new Error(`tickflow exited early:\n${cli.stderr().slice(-2000)}`);
    return pattern.exec(cli.stdout())?.[1];
  };
  return waitFor(`output matching ${pattern}`, found, { limitMs: timeoutMs, everyMs: 100 }).catch((err: Error) => {
    throw new Error(`${err.message}:\n${cli.stderr().slice(-2000)}`, { cause: err });
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
