import { readFileSync, writeFileSync } from 'node:fs';
import type { Step } from './ladder.js';

/**
 * The table of bench/peers.ts: tickflow, the seed pipeline and cryptofeed measured in one run, the
 * ceilings next to them, the ratios between them and the load average next to every figure; and
 * the docs/benchmarks.md section it is written to.
 */

export const SECTION_TITLE = 'Peers, one run (issue 14)';

/** A figure and the 1-minute load average when it was taken. */
export interface Figure {
  readonly value: number;
  readonly load: number;
}

export interface IngestResult {
  readonly steps: readonly Step[];
  readonly peakRssMib: number;
  readonly load: number;
}

export interface StoreResult extends Figure {
  /** Rows in the table when the store was stopped. */
  readonly rows: number;
  /** Records in the topic it drained. */
  readonly backlog: number;
  /** Rows the rate (value) and CPU were measured over, from the first row committed. */
  readonly measured: number;
  /** Every record of the topic became a row before the cap. */
  readonly complete: boolean;
  readonly peakRssMib: number;
  readonly cpuPer100k: number;
}

export interface PeerReport {
  readonly command: string;
  readonly startedAt: Date;
  readonly commit: string;
  readonly machineStart: string;
  readonly machineEnd: string;
  readonly ladder: {
    readonly rates: readonly number[];
    readonly warmupMs: number;
    readonly windowMs: number;
    readonly drainOkMs: number;
    readonly maxDrainMs: number;
  };
  readonly symbols: readonly string[];
  readonly ingest: { readonly tickflow: IngestResult; readonly seed: IngestResult; readonly cryptofeed: IngestResult };
  readonly store: { readonly tickflow: StoreResult; readonly seed: StoreResult };
  readonly ceilings: { readonly producerPerformance: Figure & { readonly records: number }; readonly copy: Figure & { readonly rows: number } };
}

const n0 = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
const n2 = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '—');
const k = (n: number): string => (n >= 1_000 ? `${+(n / 1_000).toFixed(1)}k` : String(Math.round(n)));
const at = (text: string, load: number): string => `${text} (load ${load.toFixed(1)})`;
const ratio = (a: number, b: number): string => (Number.isFinite(a / b) && b !== 0 ? (a / b).toFixed(2) : '—');

/** The highest step held with zero loss, and the first that was not. */
function limits(r: IngestResult): { held: Step | undefined; failed: Step | undefined } {
  const held = r.steps
    .filter((s) => s.held)
    .sort((a, b) => a.offered - b.offered)
    .at(-1);
  const failed = r.steps.filter((s) => !s.held).sort((a, b) => a.nominal - b.nominal)[0];
  return { held, failed };
}

function heldCell(r: IngestResult): string {
  const { held, failed } = limits(r);
  const base = held === undefined ? `< ${n0(r.steps[0]?.nominal ?? NaN)} msgs/s` : at(`**${n0(held.offered)}** msgs/s`, held.load);
  const bound = held?.simulatorBound ? ', the simulator could offer no more' : failed === undefined && held !== undefined ? ', the top of the ladder' : '';
  return `${base}${bound}${failed !== undefined ? `; at ${k(failed.nominal)}: ${failed.failure}` : ''}`;
}

/**
 * CPU per 100k at `rate` (nominal), or at the highest held step when that one was not climbed; the
 * text names the rate when it is not the row's `reference`.
 */
function cpuAt(r: IngestResult, rate: number | undefined, reference: number | undefined): { text: string; value: number } {
  const step = r.steps.find((s) => s.nominal === rate) ?? limits(r).held ?? r.steps[0];
  if (step === undefined) return { text: '—', value: NaN };
  const where = step.nominal === reference ? '' : ` at ${k(step.nominal)} msgs/s${step.held ? '' : ', not held'}`;
  return { text: at(`**${n2(step.cpuPer100k)}**${where}`, step.load), value: step.cpuPer100k };
}

function stepRows(name: string, r: IngestResult): string[] {
  return r.steps.map(
    (s) =>
      `| ${name} | ${n0(s.nominal)} | ${n0(s.offered)}${s.simulatorBound ? ' (sim-bound)' : ''} | ${n2(s.cpuPer100k)} | ${n0(s.rssMib)} | ${n0(s.emitted)} | ${n0(s.drainMs)} | ${s.load.toFixed(1)} | ${s.held ? 'held' : s.failure} |`,
  );
}

/** The section's markdown (its heading included); a run that failed before the table says so. */
export function peersMarkdown(r: PeerReport | undefined): string {
  const title = `## ${SECTION_TITLE}`;
  if (r === undefined) return `${title}\n\nThe run failed before it had a table; see its output.\n`;
  const { tickflow, seed, cryptofeed } = r.ingest;
  // The CPU comparison is made at one rate: the highest step both tickflow and the seed pipeline held.
  const seedHeld = new Set(seed.steps.filter((s) => s.held).map((s) => s.nominal));
  const reference = tickflow.steps.filter((s) => s.held && seedHeld.has(s.nominal)).at(-1)?.nominal;
  // cryptofeed holds far lower rates: it is compared with tickflow at the highest step both held.
  const tickflowHeld = new Set(tickflow.steps.filter((s) => s.held).map((s) => s.nominal));
  const cryptofeedRate = cryptofeed.steps.filter((s) => s.held && tickflowHeld.has(s.nominal)).at(-1)?.nominal ?? cryptofeed.steps[0]?.nominal;
  const cpu = {
    tickflow: cpuAt(tickflow, reference, reference),
    seed: cpuAt(seed, reference, reference),
    cryptofeed: cpuAt(cryptofeed, cryptofeedRate, reference),
  };
  const tickflowAtCryptofeed = cpuAt(tickflow, cryptofeedRate, reference);
  const rate = (x: IngestResult): number => limits(x).held?.offered ?? NaN;
  const pp = r.ceilings.producerPerformance;
  const copy = r.ceilings.copy;
  const st = r.store;
  const storeCell = (s: StoreResult): string => at(`**${n0(s.value)}** rows/s`, s.load);
  const lines = [
    title,
    '',
    `\`${r.command}\` (bench/peers.ts) — ${r.startedAt.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${r.commit}.`,
    `Machine at the start: ${r.machineStart}; at the end: ${r.machineEnd}.`,
    '',
    'One simulator feed (`tickflow simulate`, its own process), the shared Kafka broker with topics of this run, the shared',
    `PostgreSQL server with databases of this run. Feed: ${r.symbols.join(', ')}; tickflow and the seed pipeline subscribe to`,
    'trade + aggTrade, cryptofeed to aggTrade (its Binance TRADES channel; it has none for the trade stream). A message is',
    "one frame of those streams. Ratios are between figures of this run only; the issue's figures are context, from another run.",
    'A ratio is tickflow ÷ the other: above 1 is better for rates, worse for CPU and memory.',
    '',
    '| path | tickflow | seed pipeline | cryptofeed | ceiling | tickflow ÷ seed | tickflow ÷ cryptofeed | tickflow ÷ ceiling | issue baseline (context only): tickflow / seed / cryptofeed; ceiling |',
    '|---|---|---|---|---|---|---|---|---|',
    `| ingest WS → Kafka, CPU s per 100k msgs${reference === undefined ? '' : ` at ${n0(reference)} msgs/s`} | ${cpu.tickflow.text} | ${cpu.seed.text} | ${cpu.cryptofeed.text} | — | ${ratio(cpu.tickflow.value, cpu.seed.value)} | ${ratio(tickflowAtCryptofeed.value, cpu.cryptofeed.value)} (tickflow ${n2(tickflowAtCryptofeed.value)} at ${k(cryptofeedRate ?? NaN)}) | — | 3.3–5.1 / 4.5–7.3 / 35.8 |`,
    `| ingest, highest rate held with zero loss | ${heldCell(tickflow)} | ${heldCell(seed)} | ${heldCell(cryptofeed)} | ProducerPerformance ${at(`**${n0(pp.value)}** records/s`, pp.load)}, ${n0(pp.records)} of tickflow's records | ${ratio(rate(tickflow), rate(seed))} | ${ratio(rate(tickflow), rate(cryptofeed))} | ${ratio(rate(tickflow), pp.value)} | ~18.6k / ~18.6k / < 1.5k; ProducerPerformance 258k |`,
    `| ingest peak RSS (VmHWM) | ${at(`${n0(tickflow.peakRssMib)} MiB`, tickflow.load)} | ${at(`${n0(seed.peakRssMib)} MiB`, seed.load)} | ${at(`${n0(cryptofeed.peakRssMib)} MiB`, cryptofeed.load)} | — | ${ratio(tickflow.peakRssMib, seed.peakRssMib)} | ${ratio(tickflow.peakRssMib, cryptofeed.peakRssMib)} | — | — |`,
    `| store Kafka → PostgreSQL, rows/s | ${storeCell(st.tickflow)} | ${storeCell(st.seed)} | — | \`psql \\copy\` ${at(`**${n0(copy.value)}** rows/s`, copy.load)}, ${n0(copy.rows)} rows | ${ratio(st.tickflow.value, st.seed.value)} | — | ${ratio(st.tickflow.value, copy.value)} | 13.3k / 9.5k; \\copy 71k |`,
    `| store CPU s per 100k rows | ${at(n2(st.tickflow.cpuPer100k), st.tickflow.load)} | ${at(n2(st.seed.cpuPer100k), st.seed.load)} | — | — | ${ratio(st.tickflow.cpuPer100k, st.seed.cpuPer100k)} | — | — | — |`,
    `| store peak RSS (VmHWM) | ${at(`${n0(st.tickflow.peakRssMib)} MiB`, st.tickflow.load)} | ${at(`${n0(st.seed.peakRssMib)} MiB`, st.seed.load)} | — | — | ${ratio(st.tickflow.peakRssMib, st.seed.peakRssMib)} | — | — | 1,313 MiB / 126 MiB |`,
    '',
    `Ladder: ${r.ladder.rates.map(k).join(', ')} msgs/s asked (the simulator's burst knob, calibrated per step), ${r.ladder.warmupMs / 1000} s warm-up + ${r.ladder.windowMs / 1000} s window each,`,
    `stopping at the first step not held (then, in the full run, one step at the geometric mean of the last held and that one).`,
    `Held = every message the simulator delivered (/sim/emitted, distinct trade/aggTrade ids) is in the topics (end offsets) within`,
    `${r.ladder.drainOkMs / 1000} s of stalling the feed, and no connection was cut as a slow consumer; otherwise the step failed, whatever its rate.`,
    'CPU = utime + stime of the process (all threads, /proc/PID/stat) over the window ÷ messages delivered in it.',
    `Store: each store drains the backlog its own ingestor wrote (every ladder step: tickflow ${n0(st.tickflow.backlog)} records, seed ${n0(st.seed.backlog)});`,
    `rows/s and CPU from the first row committed over the same number of rows for both, the smaller backlog or less (count(*) every 0.5 s;`,
    `measured over ${n0(st.tickflow.measured)} rows for tickflow, ${n0(st.seed.measured)} for the seed consumer, fewer when the cap came first),`,
    `then on until every record is a row (tickflow: ${st.tickflow.complete ? 'all' : `${n0(st.tickflow.rows)} when the cap stopped it`}; seed: ${st.seed.complete ? 'all' : `${n0(st.seed.rows)} when the cap stopped it`}); peak RSS = VmHWM over the drain.`,
    "Ceilings: ProducerPerformance with 10,000 of tickflow's records as payloads and tickflow's producer settings (acks=all,",
    "idempotence, lz4, linger, batch); `psql \\copy` of the rows tickflow's store wrote (CSV) into a fresh migrated database.",
    '',
    '| ingestor | asked msgs/s | offered msgs/s | CPU s / 100k | RSS MiB | messages | drain ms | load | result |',
    '|---|---|---|---|---|---|---|---|---|',
    ...stepRows('tickflow ingest', tickflow),
    ...stepRows('seed ingestor', seed),
    ...stepRows('cryptofeed', cryptofeed),
    '',
    'The peers (bench/peers/, installed by `bash bench/peers/install.sh` into .tickflow/peers-venv, versions pinned in',
    'requirements.txt): **seed pipeline** — `seed_ingest.py` (websockets 17 + confluent-kafka 2.16 / librdkafka: parse the',
    'frame, build the record, produce + poll(0) per message, same producer settings as tickflow) and `seed_consume.py`',
    '(confluent-kafka poll per message + psycopg2 `execute_values`, 500 rows or 2 s, `ON CONFLICT DO NOTHING`, NUMERIC',
    'prices, offsets committed after the rows). **cryptofeed** 2.4.1 (the last release for Python 3.11) with TradeKafka',
    "(aiokafka), pointed at the simulator by a subclass of its Binance feed with the simulator's addresses and a",
    'WebSocket connection class without its `wss://`-only check (`cryptofeed_kafka.py`); acks=all, idempotence, lz4, and',
    "aiokafka's linger of 0 (TradeKafka awaits every send before the next, so a linger would cap it at one record per linger).",
    '',
  ];
  return lines.join('\n');
}

/** Replaces the section (from its heading to the next `## ` heading) in `file`, or appends it. */
export function writeDocsSection(file: string, markdown: string): void {
  const text = readFileSync(file, 'utf8');
  const heading = `## ${SECTION_TITLE}`;
  const start = text.indexOf(`\n${heading}\n`);
  if (start < 0) {
    writeFileSync(file, `${text.trimEnd()}\n\n${markdown}`);
    return;
  }
  const next = text.indexOf('\n## ', start + heading.length + 1);
  writeFileSync(file, `${text.slice(0, start + 1)}${markdown}${next < 0 ? '' : `\n${text.slice(next + 1)}`}`);
}
