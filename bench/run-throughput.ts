/**
 * Sustained throughput of `tickflow run` (embedded PostgreSQL, in-process bus, processor, API) fed by
 * the exchange simulator in its own process (`tickflow simulate`), stepping the rate up. A step
 * holds when the database afterwards has exactly the emitted ids (no loss, no gap, no dead
 * letter) and the pipeline kept up: once the simulator stops sending, the last frame is received
 * within --max-catch-up-ms. A pipeline that cannot keep up reads its socket late, so the frames
 * wait in the simulator's send buffer: that shows as catch-up time and as ingest latency (receive
 * time − the simulator's send time E) growing from the first to the last third of the step.
 *
 * Columns: loop run/wait is the run's main thread (the event loop, PGlite included) on a CPU and
 * runnable but waiting for one (/proc/<pid>/schedstat), % of the step: a high wait means the
 * machine, not the pipeline, set the pace. CPU µs/frame is the run's CPU time (all threads) per
 * frame received, the load-independent cost.
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
import { failOnProblems, jsonParseRate, printComparison, printMachine } from './support/report.js';

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
const list = (s: string) =>
  s
    .split(',')
    .filter((x) => x !== '')
    .map(Number);
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

interface SimStep {
  readonly target: number;
  readonly delivered: number;
  readonly simCpuPct: number;
  /** The simulator's event loop runnable but waiting for a CPU, % of the window. */
  readonly simLoopWaitPct: number;
}

/** The simulator alone, to a client that counts frames without parsing them. */
async function simulatorStep(target: number, capture: Capture, seconds: number): Promise<SimStep> {
  const knob = knobFor(target, capture, symbols.length);
  const sim = await startSimProcess({ symbols, tradesPerSecond: knob, bookTickersPerSecond: knob });
  try {
    const ws = new WebSocket(
      streamUrl(
        sim.wsBaseUrl,
        symbols.flatMap((s) => streams.map((st) => wireStreamName(s, st))),
      ),
    );
    let frames = 0;
    ws.on('message', () => frames++);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    await sleep(1_000);
    const from = { frames, sample: sampleProcess(sim.pid), at: performance.now() };
    await sleep(seconds * 1000);
    const dt = (performance.now() - from.at) / 1000;
    const to = sampleProcess(sim.pid);
    const step = {
      target,
      delivered: (frames - from.frames) / dt,
      simCpuPct: (100 * (to.cpuSeconds - from.sample.cpuSeconds)) / dt,
      simLoopWaitPct: (100 * (to.loopWaitSeconds - from.sample.loopWaitSeconds)) / dt,
    };
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
  /** The run's event loop (main thread): share of the window on a CPU, and runnable but waiting for one. */
  readonly loopRunPct: number;
  readonly loopWaitPct: number;
  /** CPU time of the run process (all threads) per frame it received in the window. */
  readonly cpuMicrosPerFrame: number;
  readonly simCpuPct: number;
  readonly pauses: number;
  readonly reconnects: number;
  readonly held: boolean;
}

async function pipelineStep(target: number, capture: Capture, seconds: number): Promise<RunStep> {
  const knob = knobFor(target, capture, symbols.length);
  const sim = await startSimProcess({ symbols, tradesPerSecond: knob, bookTickersPerSecond: knob });
  const dataDir = mkdtempSync(join(tmpdir(), 'tf-bench-run-'));
  let run: RunProcess | undefined;
  try {
    run = await startRunProcess({ sim, symbols, streams, dataDir });
    const received = () => run!.counter('tickflow_messages_received_total');
    const start = { at: Date.now(), run: sampleProcess(run.pid), sim: sampleProcess(sim.pid).cpuSeconds, received: await received() };
    await sleep(seconds * 1000);
    const stallAt = Date.now();
    const end = sampleProcess(run.pid);
    const receivedInWindow = (await received()) - start.received;
    const cpu = {
      run: end.cpuSeconds - start.run.cpuSeconds,
      sim: sampleProcess(sim.pid).cpuSeconds - start.sim,
      loopRun: end.loopRunSeconds - start.run.loopRunSeconds,
      loopWait: end.loopWaitSeconds - start.run.loopWaitSeconds,
    };
    await sim.stall(3_600_000);
    // SIGTERM stops reading at once (what is still in the socket was never received), so wait
    // until every frame the simulator sent has been received: per stream, received ≥ emitted —
    // or, when frames were lost on the way (the simulator cuts a client 64 MiB behind, as Binance
    // drops slow consumers), until nothing more arrives for 10 s.
    await sleep(1_000);
    const sentFrames = await sim.emitted();
    let previous = -1;
    let stableSince = Date.now();
    for (;;) {
      const series = await run.series('tickflow_messages_received_total');
      const got = new Map(series.map((x) => [`${x.labels.symbol?.toLowerCase()}@${x.labels.stream}`, x.value]));
      const behind = Object.entries(sentFrames).filter(([stream, e]) => /@(trade|aggTrade|bookTicker)$/.test(stream) && (got.get(stream) ?? 0) < e.count);
      if (behind.length === 0) break;
      const total = series.reduce((sum, x) => sum + x.value, 0);
      if (total !== previous) [previous, stableSince] = [total, Date.now()];
      else if (Date.now() - stableSince > 10_000) break;
      await sleep(1_000);
    }
    const emitted = await sim.emitted();
    const pauses = run.pauses();
    const reconnects = await run.counter('tickflow_websocket_reconnects_total');
    const warnings = run.cli
      .stderr()
      .split('\n')
      .filter((l) => /"level":[4-6]0/.test(l))
      .map((l) => JSON.parse(l) as { msg: string; connection?: string; reason?: string; detail?: string })
      .map((l) => [l.connection, l.msg, l.reason, l.detail].filter((x) => x !== undefined).join(' '));
    const exit = await run.stop();
    if (exit !== 0) throw new Error(`tickflow run exited with ${exit}:\n${run.cli.stderr().slice(-3000)}`);
    const stored = await checkStored(dataDir, emitted, symbols);
    const problems = stored.problems.length === 0 ? [] : [...stored.problems, ...warnings.slice(0, 5).map((w) => `run logged: ${w}`)];
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
      loopRunPct: (100 * cpu.loopRun) / sentFor,
      loopWaitPct: (100 * cpu.loopWait) / sentFor,
      cpuMicrosPerFrame: (1e6 * cpu.run) / receivedInWindow,
      simCpuPct: (100 * cpu.sim) / sentFor,
      pauses,
      reconnects,
      held: problems.length === 0 && catchUpMs <= maxCatchUpMs,
    };
  } finally {
    await run?.stop();
    await sim.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
}

printMachine('start');
console.log(`${symbols.join(',')} × ${streams.join(',')}`);
const capture = await captureFrames(symbols, streams, 3);
console.log(`captured ${capture.frames.length} frames from the simulator (${describeMix(capture.perSecond)})`);
const parseBefore = jsonParseRate(capture.frames, 3_000);
console.log(`JSON.parse of those frames: ${fmt(parseBefore)} frames/s`);

console.log('\nsimulator alone (tickflow simulate → a ws client that only counts):');
console.log('  target/s | delivered/s | sim CPU % | sim loop waiting for a CPU %');
const simSteps: SimStep[] = [];
for (const target of list(args['sim-rates'])) {
  const s = await simulatorStep(target, capture, Number(args['sim-seconds']));
  simSteps.push(s);
  console.log(
    `${fmt(s.target).padStart(10)} | ${fmt(s.delivered).padStart(11)} | ${s.simCpuPct.toFixed(0).padStart(9)} | ${s.simLoopWaitPct.toFixed(0).padStart(4)}`,
  );
}

console.log("\ntickflow run fed by tickflow simulate (loop: the run's main thread on a CPU / runnable but waiting for one):");
console.log(
  '  target/s |  sent/s | exact |  p50 ms | p99 ms first→last third | catch-up ms | run CPU % | loop run/wait % | CPU µs/frame | sim CPU % | pauses | reconnects | holds',
);
const steps: RunStep[] = [];
for (const target of list(args.rates)) {
  const s = await pipelineStep(target, capture, Number(args.seconds));
  steps.push(s);
  console.log(
    [
      fmt(s.target).padStart(10),
      fmt(s.sent).padStart(7),
      (s.problems.length === 0 ? 'yes' : 'NO').padStart(5),
      s.p50.toFixed(1).padStart(7),
      `${s.p99First.toFixed(0)} → ${s.p99Last.toFixed(0)}`.padStart(24),
      fmt(s.catchUpMs).padStart(10),
      s.runCpuPct.toFixed(0).padStart(9),
      `${s.loopRunPct.toFixed(0)} / ${s.loopWaitPct.toFixed(0)}`.padStart(15),
      s.cpuMicrosPerFrame.toFixed(0).padStart(12),
      s.simCpuPct.toFixed(0).padStart(9),
      String(s.pauses).padStart(6),
      String(s.reconnects).padStart(10),
      s.held ? 'yes' : 'NO',
    ].join(' | '),
  );
  for (const p of s.problems) console.log(`    ${p}`);
  if (!s.held && !args.all) break;
}
const parseAfter = jsonParseRate(capture.frames, 3_000);

const best = steps.filter((s) => s.held).reduce<RunStep | undefined>((b, s) => (b === undefined || s.sent > b.sent ? s : b), undefined);
const parse = (parseBefore + parseAfter) / 2;
const simTop = Math.max(...simSteps.map((s) => s.delivered));
console.log(
  `\nJSON.parse: ${fmt(parseBefore)} frames/s before the steps, ${fmt(parseAfter)} after; load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`,
);
if (best === undefined) {
  console.log('no step held');
} else {
  console.log(`highest rate held with no loss: ${fmt(best.sent)} frames/s (${describeMix(best.mix)})`);
  console.log(`JSON.parse alone is ${(parse / best.sent).toFixed(0)}× that (${fmt(parse)} frames/s, mean of before and after)`);
  console.log(
    `CPU per frame there: ${best.cpuMicrosPerFrame.toFixed(0)} µs, i.e. about ${fmt(1e6 / best.cpuMicrosPerFrame)} frames/s if the run had one core to itself`,
  );
}
if (simSteps.length > 0) console.log(`simulator alone delivered up to ${fmt(simTop)} frames/s`);
if (best !== undefined)
  printComparison({
    figure: 'tickflow run, highest rate held exactly',
    value: best.sent,
    yardstick: 'JSON.parse of the same frames, one core (mean of before and after)',
    yardstickValue: parse,
    unit: 'frames/s',
  });
printMachine('end');
failOnProblems(best === undefined ? ['no step held (nothing stored exactly at any rate)'] : []);
