/**
 * The exchange simulator as a load generator: `tickflow simulate` in its own process sends trade,
 * aggTrade, bookTicker and depth@100ms of every symbol to several clients at once over real
 * sockets, for --seconds (60 by default). The clients (in this process) read the frame headers and
 * the id fields only (bench/support/frame-counter.ts), so they cost little next to the simulator.
 *
 * Exact means: for every client and stream the trade/aggTrade/depth ids arrived contiguous, every
 * client saw each stream up to the simulator's last id, the first client got exactly the frames
 * /sim/emitted reports, no client was cut as a slow consumer. During the window the bench asks
 * REST (/api/v3/depth), /sim/emitted and /sim/stats once a second and prints the slowest answer.
 *
 * Yardstick, same run: JSON.parse of frames the first client received, on one core.
 *
 *   npx tsx bench/simulator.ts [--seconds 60] [--clients 3] [--rate 6000]
 *       [--symbols BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT]
 *
 * --rate is the generator's knob per symbol: trades/s and book updates/s (each ~1 bookTicker).
 * Exit code 1 when nothing arrived, anything was lost, or a request failed.
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { EmittedReport, SimulatorStats } from '../src/simulator/index.js';
import { sampleProcess, sleep, startSimProcess } from './support/children.js';
import { FrameCounter } from './support/frame-counter.js';
import { failOnProblems, jsonParseRate, printComparison, printMachine } from './support/report.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    clients: { type: 'string', default: '3' },
    rate: { type: 'string', default: '6000' },
    symbols: { type: 'string', default: 'BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT' },
  },
});
const SECONDS = Number(args.seconds);
const CLIENTS = Number(args.clients);
const RATE = Number(args.rate);
const symbols = args.symbols.split(',');
const STREAMS = ['trade', 'aggTrade', 'bookTicker', 'depth@100ms'];
const WARMUP_MS = 3_000;
const KEEP = 50_000;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

printMachine('start');
console.log(
  `simulator: ${symbols.join(',')} × ${STREAMS.join(',')}, knob ${RATE} trades/s and book updates/s per symbol; ${CLIENTS} clients; ${SECONDS} s window after ${WARMUP_MS / 1000} s warm-up`,
);

const problems: string[] = [];
const sim = await startSimProcess({ symbols, tradesPerSecond: RATE, bookTickersPerSecond: RATE });
const names = symbols.flatMap((s) => STREAMS.map((st) => `${s.toLowerCase()}@${st}`));
const url = `${sim.wsBaseUrl}/stream?streams=${names.join('/')}`;
const get = async <T>(path: string): Promise<T> => {
  const res = await fetch(`${sim.restBaseUrl}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
};
const totalFrames = (e: EmittedReport) => Object.values(e).reduce((n, s) => n + s.frames, 0);

try {
  const clients: FrameCounter[] = [];
  for (let i = 0; i < CLIENTS; i++) clients.push(await FrameCounter.open(url));
  await sleep(WARMUP_MS);
  const delivered = () => clients.reduce((n, c) => n + c.frames, 0);
  clients[0]?.keep(KEEP);
  const start = {
    at: performance.now(),
    delivered: delivered(),
    emitted: totalFrames(await sim.emitted()),
    cpu: sampleProcess(sim.pid),
    stats: await get<SimulatorStats>('/sim/stats'),
  };
  // Once a second: REST, emitted() and stats, timed (the answers are what matters under load).
  let slowest = 0;
  let asked = 0;
  while (performance.now() - start.at < SECONDS * 1_000) {
    const t0 = performance.now();
    try {
      await Promise.all([get(`/api/v3/depth?symbol=${symbols[0]}&limit=100`), sim.emitted(), get('/sim/stats')]);
      asked += 1;
      slowest = Math.max(slowest, performance.now() - t0);
    } catch (err) {
      problems.push(`a request during the window failed: ${err instanceof Error ? err.message : String(err)}`);
    }
    await sleep(Math.max(0, 1_000 - (performance.now() - t0)));
  }
  const dt = (performance.now() - start.at) / 1_000;
  const end = {
    delivered: delivered(),
    emitted: totalFrames(await sim.emitted()),
    cpu: sampleProcess(sim.pid),
    stats: await get<SimulatorStats>('/sim/stats'),
  };
  const deliveredRate = (end.delivered - start.delivered) / dt;
  const uniqueRate = (end.emitted - start.emitted) / dt;
  const simCores = (end.cpu.cpuSeconds - start.cpu.cpuSeconds) / dt;
  const slowedPct = (100 * (end.stats.marketSlowedDownMs - start.stats.marketSlowedDownMs)) / (dt * 1_000);

  // Stop sending, then wait until the clients have read everything the simulator sent.
  await sim.stall(3_600_000);
  const emitted = await sim.emitted();
  for (let last = -1, idle = 0; idle < 20; ) {
    const now = delivered();
    const done = clients.every((c) => names.every((n) => n.endsWith('@bookTicker') || (c.streams.get(n)?.lastId ?? null) === (emitted[n]?.lastId ?? null)));
    if (done) break;
    idle = now === last ? idle + 1 : 0;
    last = now;
    await sleep(250);
  }
  const stats = await get<SimulatorStats>('/sim/stats');

  for (const [i, c] of clients.entries()) {
    if (c.closed) problems.push(`client ${i + 1} was disconnected`);
    for (const n of names) {
      const got = c.streams.get(n);
      const e = emitted[n];
      if (got === undefined || e === undefined) {
        problems.push(`client ${i + 1}: nothing on ${n}`);
        continue;
      }
      if (got.breaks > 0) problems.push(`client ${i + 1}: ${got.breaks} id breaks on ${n}`);
      if (!n.endsWith('@bookTicker') && got.lastId !== e.lastId)
        problems.push(`client ${i + 1}: ${n} ends at id ${got.lastId}, the simulator sent up to ${e.lastId}`);
      // The first client was subscribed before the first frame of every stream was built.
      if (i === 0 && got.frames !== e.frames) problems.push(`client 1: ${got.frames} frames on ${n}, /sim/emitted says ${e.frames}`);
    }
  }
  for (const [n, e] of Object.entries(emitted))
    if (!n.endsWith('@bookTicker') && e.ranges.length !== 1) problems.push(`/sim/emitted: ${n} has ${e.ranges.length} id ranges`);
  if (stats.slowConsumerDisconnects > 0) problems.push(`${stats.slowConsumerDisconnects} clients cut as slow consumers`);
  if (deliveredRate === 0) problems.push('no frames arrived');

  const kept = clients[0]?.kept ?? [];
  const parse = jsonParseRate(kept, 3_000);
  console.log(
    `unique frames/s generated: ${fmt(uniqueRate)}; delivered to ${CLIENTS} clients: ${fmt(deliveredRate)} frames/s, ${fmt(deliveredRate / CLIENTS)} per client`,
  );
  console.log(
    `simulator process: ${simCores.toFixed(2)} cores, ${((simCores * 1e6) / deliveredRate).toFixed(2)} CPU µs per delivered frame, ${((simCores * 1e6) / uniqueRate).toFixed(2)} per unique frame, RSS ${end.cpu.rssMib.toFixed(0)} MiB`,
  );
  console.log(
    `market slowed down ${slowedPct.toFixed(1)}% of the window (0: the asked rate was held); slowest of ${asked} REST+emitted+stats rounds: ${fmt(slowest)} ms`,
  );
  console.log(
    `exact: ${problems.length === 0 ? 'yes' : 'NO'} (ids contiguous per client and stream, client 1 = /sim/emitted frame for frame, ${stats.slowConsumerDisconnects} slow-consumer cuts)`,
  );
  printComparison({
    figure: `simulator → ${CLIENTS} clients`,
    value: deliveredRate,
    yardstick: `JSON.parse of ${fmt(kept.length)} of the same frames, one core`,
    yardstickValue: parse,
    unit: 'frames/s',
  });
  for (const c of clients) c.close();
} finally {
  await sim.stop();
}
printMachine('end');
failOnProblems(problems);
