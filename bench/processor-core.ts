/**
 * Throughput of the pure stream-processor core on one core, over real recorded trades (spot
 * BTCUSDT and ETHUSDT, 2024-08-08/09, interleaved by arrival), with no I/O. The yardstick, in the
 * same run: a bare JSON.parse loop over the same raw frames. Usage: `npx tsx bench/processor-core.ts [passes]`.
 */
import { performance } from 'node:perf_hooks';
import { failOnProblems, printComparison, printMachine } from './support/report.js';
import { configSchema } from '../src/config/schema.js';
import { type CoreInput, ProcessorCore } from '../src/processors/processor-core.js';
import { parseFrame } from '../src/sources/binance/parse.js';
import { type Frame, loadRecordedTrades } from './support/recorded-trades.js';

const passes = Number(process.argv[2] ?? 10);

function rate(events: number, ms: number): string {
  return `${Math.round(events / (ms / 1000)).toLocaleString('en-US')} events/s`;
}

const frames = await loadRecordedTrades();
const inputs: CoreInput[] = frames.map((f, i) => ({ source: 'trades/0', offset: BigInt(i), event: f.event }));
const options = { ...configSchema.parse({}).processor, tradeStream: 'trade' as const };

// Warm-up, so both loops run optimized code.
JSON.parse(frames[0]?.raw ?? '{}');
new ProcessorCore(options).ingest(inputs.slice(0, 5_000));

let sink = 0;
let t0 = performance.now();
for (let p = 0; p < passes; p += 1) for (const f of frames) sink += (JSON.parse(f.raw) as { data: { t: number } }).data.t;
const parseMs = performance.now() - t0;

let rows = 0;
t0 = performance.now();
const cpu0 = process.cpuUsage();
for (let p = 0; p < passes; p += 1) {
  const core = new ProcessorCore(options);
  rows += core.ingest(inputs).upserts.length + core.finish().length;
}
const coreMs = performance.now() - t0;
// CPU time of the process (GC threads included): what the loop cost whatever share of a core it got.
const coreCpu = process.cpuUsage(cpu0);
const coreCpuMs = (coreCpu.user + coreCpu.system) / 1000;

t0 = performance.now();
for (let p = 0; p < passes; p += 1) {
  const core = new ProcessorCore(options);
  for (let i = 0; i < frames.length; i += 1) {
    const parsed = parseFrame((frames[i] as Frame).raw, 'spot', 0);
    if (parsed.ok === true) core.ingest([{ source: 'trades/0', offset: BigInt(i), event: parsed.event }]);
  }
}
const bothMs = performance.now() - t0;

const total = frames.length * passes;
printMachine('start');
console.log(`trades: ${frames.length} real spot trades × ${passes} passes = ${total} events; node ${process.version}`);
console.log(`candles ${options.candleIntervals.join('/')}, trade metrics ${options.metricsWindowMs} ms, whales; ${rows} rows out`);
console.log(`JSON.parse only (yardstick):        ${rate(total, parseMs)}`);
console.log(`processor core (pre-parsed events): ${rate(total, coreMs)}  (${(coreMs / parseMs).toFixed(2)}× the JSON.parse time)`);
console.log(`processor core per CPU second:      ${rate(total, coreCpuMs)}`);
console.log(`parseFrame + core, one at a time:   ${rate(total, bothMs)}`);
if (sink === -1) console.log(sink);
printComparison({
  figure: 'processor core (pre-parsed events)',
  value: (total * 1000) / coreMs,
  yardstick: 'JSON.parse of the same trade frames',
  yardstickValue: (total * 1000) / parseMs,
  unit: 'events/s',
});
printMachine('end');
failOnProblems(total > 0 && rows > 0 ? [] : [`nothing processed: ${total} events in, ${rows} rows out`]);
