/**
 * Sustained throughput of `tickflow run` (embedded PGlite, in-process bus, processor, API) fed by
 * the exchange simulator in its own process (`tickflow simulate`), stepping the rate up. A step
 * holds when the database afterwards has exactly the emitted ids (no loss, no gap, no dead
 * letter) and the pipeline kept up: once the simulator stops sending, the last frame is received
 * within --max-catch-up-ms. Falling behind shows there first, because the source pauses its
 * sockets when the bus is full and the frames wait in the simulator's send buffer.
 *
 * In the same run: the machine's raw JSON.parse rate over real frames captured from the
 * simulator (the yardstick), and the simulator's own top rate to a client that only counts.
 *
 *   npx tsx bench/run-throughput.ts [--rates 1000,2000,5000,10000,20000,40000] [--seconds 25]
 *       [--sim-rates 10000,20000,40000,80000] [--sim-seconds 10] [--max-catch-up-ms 1000]
 *       [--symbols BTCUSDT,ETHUSDT] [--streams trade,aggTrade,bookTicker,depth,kline_1m] [--all]
 *
 * Rates are frames/s over all streams together; the mix is printed. Without --all the steps stop
 * after the first rate that does not hold.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { streamUrl, wireStreamName } from '../src/sources/binance/streams.js';
import { type RunProcess, sampleProcess, sleep, startRunProcess, startSimProcess } from './support/children.js';
import { type Capture, captureFrames, describeMix, knobFor } from './support/mix.js';
import { checkStored } from './support/stored.js';

const { values: args } = parseArgs({
  options: {
    rates: { type: 'string', default: '1000,2000,5000,10000,20000,40000' },
    seconds: { type: 'string', default: '25' },
    'sim-rates': { type: 'string', default: '10000,20000,40000,80000' },
    'sim-seconds': { type: 'string', default: '10' },
    'max-catch-up-ms': { type: 'string', default: '1000' },
    symbols: { type: 'string', default: 'BTCUSDT,ETHUSDT' },
    streams: { type: 'string', default: 'trade,aggTrade,bookTicker,depth,kline_1m' },
    all: { type: 'boolean', default: false },
  },
});
const symbols = args.symbols.split(',');
const streams = args.streams.split(',');
const maxCatchUpMs = Number(args['max-catch-up-ms']);
const list = (s: string) => s.split(',').filter((x) => x !== '').map(Number);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

/** JSON.parse over the captured frames, round after round, for about `ms`. */
function parseRate(frames: readonly string[], ms: number): number {
  let sink = 0;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (const f of frames) sink += (JSON.parse(f) as { stream: string }).stream.length;
    n += frames.length;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  return sink === -1 ? 0 : rate;
}

interface SimStep {
  readonly target: number;
  readonly delivered: number;
  readonly simCpuPct: number;
}

/** The simulator alone, to a client that counts frames without parsing them. */
async function simulatorStep(target: number, capture: Capture, seconds: number): Promise<SimStep> {
  const knob = knobFor(target, capture, symbols.length);
  const sim = await startSimProcess({ symbols, tradesPerSecond: knob, bookTickersPerSecond: knob });
  try {
    const ws = new WebSocket(streamUrl(sim.wsBaseUrl, symbols.flatMap((s) => streams.map((st) => wireStreamName(s, st)))));
    let frames = 0;
    ws.on('message', () => frames++);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await sleep(1_000);
    const from = { frames, cpu: sampleProcess(sim.pid).cpuSeconds, at: performance.now() };
    await sleep(seconds * 1000);
    const dt = (performance.now() - from.at) / 1000;
    const step = { target, delivered: (frames - from.frames) / dt, simCpuPct: (100 * (sampleProcess(sim.pid).cpuSeconds - from.cpu)) / dt };
    ws.terminate();
    return step;
  } finally {
    await sim.stop();
  }
}

interface RunStep {
  readonly target: number;
  readonly sent: number;
  readonly mix: Readonly<Record<string, number>>;
  readonly problems: readonly string[];
  readonly p50: number;
  readonly p99First: number;
  readonly p99Last: number;
  readonly catchUpMs: number;
  readonly runCpuPct: number;
  readonly simCpuPct: number;
  readonly pauses: number;
  readonly held: boolean;
}

async function pipelineStep(target: number, capture: Capture, seconds: number): Promise<RunStep> {
  const knob = knobFor(target, capture, symbols.length);
  const sim = await startSimProcess({ symbols, tradesPerSecond: knob, bookTickersPerSecond: knob });
  const dataDir = mkdtempSync(join(tmpdir(), 'tf-bench-run-'));
  let run: RunProcess | undefined;
  try {
    run = await startRunProcess({ wsBaseUrl: sim.wsBaseUrl, symbols, streams, dataDir });
    const start = { at: Date.now(), run: sampleProcess(run.pid).cpuSeconds, sim: sampleProcess(sim.pid).cpuSeconds };
    await sleep(seconds * 1000);
    const stallAt = Date.now();
    const cpu = { run: sampleProcess(run.pid).cpuSeconds - start.run, sim: sampleProcess(sim.pid).cpuSeconds - start.sim };
    await sim.stall(3_600_000);
    // Wait until the pipeline has received everything that was in flight (the counter stops moving).
    let last = -1;
    for (let i = 0; i < 600; i++) {
      const received = await run.counter('tickflow_messages_received_total');
      if (received === last) break;
      last = received;
      await sleep(1_000);
    }
    const emitted = await sim.emitted();
    const pauses = run.pauses();
    const exit = await run.stop();
    if (exit !== 0) throw new Error(`tickflow run exited with ${exit}:\n${run.cli.stderr().slice(-3000)}`);
    const stored = await checkStored(dataDir, emitted, symbols);
    const problems = stored.problems;
    const sentFor = (stallAt - start.at) / 1000;
    const frames = Object.values(stored.frames).reduce((a, b) => a + b, 0);
    const catchUpMs = Math.max(0, stored.lastIngestAt - stallAt);
    return {
      target,
      // Frames sent before the measured window (while connecting) are few: one second at most.
      sent: frames / sentFor,
      mix: stored.frames,
      problems,
      p50: stored.latencyMs.p50,
      p99First: stored.p99FirstThirdMs,
      p99Last: stored.p99LastThirdMs,
      catchUpMs,
      runCpuPct: (100 * cpu.run) / sentFor,
      simCpuPct: (100 * cpu.sim) / sentFor,
      pauses,
      held: problems.length === 0 && catchUpMs <= maxCatchUpMs,
    };
  } finally {
    await run?.stop();
    await sim.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

console.log(`node ${process.version}, ${symbols.join(',')} × ${streams.join(',')}, load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const capture = await captureFrames(symbols, streams, 3);
console.log(`captured ${capture.frames.length} frames from the simulator (${describeMix(capture.perSecond)})`);
const parseBefore = parseRate(capture.frames, 3_000);
console.log(`JSON.parse of those frames: ${fmt(parseBefore)} frames/s`);

console.log('\nsimulator alone (tickflow simulate → a ws client that only counts):');
console.log('  target/s | delivered/s | sim CPU %');
const simSteps: SimStep[] = [];
for (const target of list(args['sim-rates'])) {
  const s = await simulatorStep(target, capture, Number(args['sim-seconds']));
  simSteps.push(s);
  console.log(`${fmt(s.target).padStart(10)} | ${fmt(s.delivered).padStart(11)} | ${s.simCpuPct.toFixed(0).padStart(9)}`);
}

console.log('\ntickflow run fed by tickflow simulate:');
console.log('  target/s |  sent/s | exact | p50 ms | p99 ms first→last third | catch-up ms | run CPU % | sim CPU % | pauses | holds');
const steps: RunStep[] = [];
for (const target of list(args.rates)) {
  const s = await pipelineStep(target, capture, Number(args.seconds));
  steps.push(s);
  console.log(
    [
      fmt(s.target).padStart(10),
      fmt(s.sent).padStart(7),
      (s.problems.length === 0 ? 'yes' : 'NO').padStart(5),
      s.p50.toFixed(1).padStart(6),
      `${s.p99First.toFixed(0)} → ${s.p99Last.toFixed(0)}`.padStart(24),
      fmt(s.catchUpMs).padStart(10),
      s.runCpuPct.toFixed(0).padStart(9),
      s.simCpuPct.toFixed(0).padStart(9),
      String(s.pauses).padStart(6),
      s.held ? 'yes' : 'NO',
    ].join(' | '),
  );
  for (const p of s.problems) console.log(`    ${p}`);
  if (!s.held && !args.all) break;
}
const parseAfter = parseRate(capture.frames, 3_000);

const best = steps.filter((s) => s.held).reduce<RunStep | undefined>((b, s) => (b === undefined || s.sent > b.sent ? s : b), undefined);
const parse = (parseBefore + parseAfter) / 2;
const simTop = Math.max(...simSteps.map((s) => s.delivered));
console.log(`\nJSON.parse: ${fmt(parseBefore)} frames/s before the steps, ${fmt(parseAfter)} after; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
if (best === undefined) {
  console.log('no step held');
} else {
  console.log(`highest rate held with no loss: ${fmt(best.sent)} frames/s (${describeMix(best.mix)})`);
  console.log(`= 1/${(parse / best.sent).toFixed(0)} of the raw JSON.parse rate (${fmt(parse)} frames/s)`);
}
if (simSteps.length > 0) console.log(`simulator alone delivered up to ${fmt(simTop)} frames/s`);
