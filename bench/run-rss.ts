/**
 * Memory of `tickflow run` under a steady feed: the simulator (`tickflow simulate`, its own
 * process) at about --rate frames/s in total over all streams, `tickflow run` (embedded
 * PostgreSQL, in-process bus, processor, API) as a child; the child's VmRSS, its peak since start
 * (VmHWM, so a start-up spike before the first sample counts) and the PSS of its embedded
 * PostgreSQL server's processes are sampled every --every seconds for --minutes. At the end the
 * database is checked against what the simulator sent (no loss).
 *
 *   npx tsx bench/run-rss.ts [--rate 2000] [--minutes 5] [--every 10] [--symbols BTCUSDT,ETHUSDT]
 *                            [--streams trade,aggTrade,bookTicker,depth,kline_1m] [--node-args '--a-v8-flag']
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { failOnProblems, printMachine } from './support/report.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { sampleProcess, treeMemory, sleep, startRunProcess, startSimProcess } from './support/children.js';
import { captureFrames, describeMix, knobFor } from './support/mix.js';
import { checkStored } from './support/stored.js';

const { values: args } = parseArgs({
  options: {
    rate: { type: 'string', default: '2000' },
    minutes: { type: 'string', default: '5' },
    every: { type: 'string', default: '10' },
    symbols: { type: 'string', default: 'BTCUSDT,ETHUSDT' },
    streams: { type: 'string', default: 'trade,aggTrade,bookTicker,depth,kline_1m' },
    'node-args': { type: 'string', default: '' },
  },
});
/** Node flags for the run (space-separated), e.g. a V8 heap flag whose effect on RSS is measured. */
const nodeArgs = args['node-args'].split(' ').filter((a) => a !== '');
const rate = Number(args.rate);
const durationMs = Number(args.minutes) * 60_000;
const everyMs = Number(args.every) * 1000;
const symbols = args.symbols.split(',');
const streams = args.streams.split(',');

const capture = await captureFrames(symbols, streams, 3);
const knob = knobFor(rate, capture, symbols.length);
const sim = await startSimProcess({ symbols, tradesPerSecond: knob, bookTickersPerSecond: knob });
const dataDir = mkdtempSync(join(tmpdir(), 'tf-bench-rss-'));
const run = await startRunProcess({ sim, symbols, streams, dataDir, nodeArgs });
if (nodeArgs.length > 0) console.log(`node flags of the run: ${nodeArgs.join(' ')}`);

/** PSS of the run's embedded PostgreSQL server: its process tree without the run itself. */
function serverPss(pid: number): number {
  const tree = treeMemory(pid);
  return tree.pss - tree.rootPss;
}

interface Row {
  readonly t: number;
  readonly rssMib: number;
  /** The run's highest RSS so far (VmHWM), start-up included. */
  readonly peakRssMib: number;
  /** PSS of the embedded PostgreSQL server's processes (the run's process tree minus the run itself). */
  readonly serverPssMib: number;
  /** V8 heap in use (tickflow_nodejs_heap_size_used_bytes), MiB: live objects and garbage not yet collected. */
  readonly heapMib: number;
  readonly cpuPct: number;
  readonly framesPerSecond: number;
  readonly rowsWritten: number;
}
const rows: Row[] = [];
const started = Date.now();
let prev = { at: started, cpu: sampleProcess(run.pid).cpuSeconds, received: await run.counter('tickflow_messages_received_total') };
printMachine('start');
console.log(`knob ${knob} trades/s and book updates/s per symbol (~${rate} frames/s); sampling every ${everyMs / 1000} s for ${durationMs / 60_000} min`);
console.log('   t  |  RSS MiB | peak MiB | heap MiB | server PSS MiB | CPU % | frames/s in | rows written');
for (let t = 0; t <= durationMs; t += everyMs) {
  await sleep(Math.max(0, started + t - Date.now()));
  const now = Date.now();
  const { rssMib, peakRssMib, cpuSeconds } = sampleProcess(run.pid);
  const received = await run.counter('tickflow_messages_received_total');
  const rowsWritten = await run.counter('tickflow_rows_written_total');
  const heapMib = (await run.counter('tickflow_nodejs_heap_size_used_bytes')) / 2 ** 20;
  const dt = (now - prev.at) / 1000;
  const row: Row = {
    t: Math.round((now - started) / 1000),
    rssMib,
    peakRssMib,
    serverPssMib: serverPss(run.pid),
    heapMib,
    cpuPct: dt > 0 ? (100 * (cpuSeconds - prev.cpu)) / dt : 0,
    framesPerSecond: dt > 0 ? (received - prev.received) / dt : 0,
    rowsWritten,
  };
  rows.push(row);
  prev = { at: now, cpu: cpuSeconds, received };
  console.log(
    `${String(row.t).padStart(4)}s | ${row.rssMib.toFixed(1).padStart(8)} | ${row.peakRssMib.toFixed(1).padStart(8)} | ${row.heapMib.toFixed(1).padStart(8)} | ${row.serverPssMib.toFixed(1).padStart(14)} | ${row.cpuPct.toFixed(0).padStart(5)} | ${row.framesPerSecond.toFixed(0).padStart(11)} | ${row.rowsWritten}`,
  );
}

const sentFor = (Date.now() - started) / 1000;
await sim.stall(3_600_000);
await sleep(3_000);
const emitted = await sim.emitted();
const exitCode = await run.stop();
await sim.stop();
const stored = await checkStored(dataDir, emitted, symbols);
rmSync(dataDir, { recursive: true, force: true });

const at = (seconds: number): Row => rows.reduce((best, r) => (Math.abs(r.t - seconds) < Math.abs(best.t - seconds) ? r : best));
const half = rows.filter((r) => r.t >= durationMs / 2000);
const slope = half.length > 1 ? ((half[half.length - 1]!.rssMib - half[0]!.rssMib) / (half[half.length - 1]!.t - half[0]!.t)) * 60 : NaN;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const totalFrames = Object.values(stored.frames).reduce((a, b) => a + b, 0);

console.log('');
console.log(
  `frames stored: ${totalFrames} (${describeMix(stored.frames)}), ~${Math.round(totalFrames / sentFor)} frames/s; mean CPU ${mean(rows.filter((r) => r.t > 0).map((r) => r.cpuPct)).toFixed(0)}% of one core`,
);
console.log(
  `RSS start ${at(0).rssMib.toFixed(1)} MiB, 1 min ${at(60).rssMib.toFixed(1)} MiB, end (${rows[rows.length - 1]!.t}s) ${rows[rows.length - 1]!.rssMib.toFixed(1)} MiB, max ${Math.max(...rows.map((r) => r.rssMib)).toFixed(1)} MiB`,
);
console.log(
  `peak RSS since start (VmHWM, start-up included): ${rows[rows.length - 1]!.peakRssMib.toFixed(1)} MiB; embedded PostgreSQL processes at the end: ${rows[rows.length - 1]!.serverPssMib.toFixed(1)} MiB PSS`,
);
console.log(`second half: ${slope >= 0 ? '+' : ''}${slope.toFixed(2)} MiB/min (${Math.abs(slope) < 1 ? 'plateau' : 'still moving'})`);
console.log(
  `exit code ${exitCode}; database vs emitted: ${stored.problems.length === 0 ? 'exact (no loss, no gaps, no dead letters)' : stored.problems.join('; ')}`,
);
console.log(
  `trade ingest latency p50 ${stored.latencyMs.p50.toFixed(1)} ms, p99 ${stored.latencyMs.p99.toFixed(1)} ms, max ${stored.latencyMs.max.toFixed(0)} ms`,
);
printMachine('end');
failOnProblems([...stored.problems, ...(exitCode === 0 ? [] : [`tickflow run exited with ${exitCode}`]), ...(totalFrames > 0 ? [] : ['nothing stored'])]);
