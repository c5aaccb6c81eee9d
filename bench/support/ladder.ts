import { loadavg } from 'node:os';
import type { EmittedReport } from '../../src/simulator/index.js';
import { type SimProcess, sampleProcess, sleep } from './children.js';

/**
 * The rate ladder of bench/peers.ts: one ingestor (WebSocket → Kafka) fed by the simulator at
 * rising rates, each step counted exactly. Between steps the simulator is stalled (it sends, and
 * counts as emitted, nothing), so a step's messages are the emitted count from unstall to stall,
 * and the step lost nothing when the ingestor's topics grew by exactly that much.
 */

/** The process under test and what it has written so far. */
export interface Ingestor {
  readonly name: string;
  readonly pid: number;
  /** The streams it subscribed to, e.g. btcusdt@aggTrade: what the simulator's emitted count sums. */
  readonly streams: readonly string[];
  /** Records in its topics now (the sum of their end offsets). */
  records(): Promise<number>;
}

export interface LadderOptions {
  readonly sim: SimProcess;
  readonly symbols: readonly string[];
  /** Nominal offered rates, msgs/s over all symbols, lowest first. */
  readonly rates: readonly number[];
  readonly warmupMs: number;
  readonly windowMs: number;
  /** A backlog that takes longer than this to reach Kafka once the feed stopped: the step fell behind. */
  readonly drainOkMs: number;
  /** How long a backlog is waited for at most; what is not in Kafka then counts as not written. */
  readonly maxDrainMs: number;
  /** After the first failed step, one more between it and the last held one (×√2 resolution instead of ×2). */
  readonly refine: boolean;
}

export interface Step {
  /** The rate asked for, msgs/s. */
  readonly nominal: number;
  /** The rate the simulator delivered during the window, msgs/s. */
  readonly offered: number;
  /** CPU seconds (user + system, all threads) of the ingestor per 100,000 messages, in the window. */
  readonly cpuPer100k: number;
  /** Resident set size at the end of the window, MiB. */
  readonly rssMib: number;
  /** Messages the simulator delivered in the step, and how many of them never reached Kafka. */
  readonly emitted: number;
  readonly unwritten: number;
  /** From stalling the feed until the topics held every message (or the wait ended), ms. */
  readonly drainMs: number;
  /** Connections the simulator cut as slow consumers during the step. */
  readonly cut: number;
  /** 1-minute load average at the end of the window. */
  readonly load: number;
  /**
   * The simulator could not play the market at the asked rate (it slowed the market down for more
   * than a tenth of the window, /sim/stats marketSlowedDownMs): it, not the ingestor, was the limit.
   */
  readonly simulatorBound: boolean;
  /** Zero loss, drained within drainOkMs, nobody cut. */
  readonly held: boolean;
  /** Why not held, e.g. `lost 1,234 of 80,000`; empty when held. */
  readonly failure: string;
}

const HOUR_MS = 3_600_000;
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Messages of `streams` the simulator delivered so far (trade/aggTrade: distinct ids). */
export function emittedCount(report: EmittedReport, streams: readonly string[]): number {
  return streams.reduce((n, s) => n + (report[s]?.count ?? 0), 0);
}

/**
 * Steps `ingestor` up `opts.rates` (the simulator must be stalled on entry; it is stalled again on
 * return) until a step is not held or the simulator cannot offer the rate; with `refine`, one more
 * step between the last held rate and the first failed one.
 */
export async function climbLadder(ingestor: Ingestor, opts: LadderOptions, log: (line: string) => void): Promise<Step[]> {
  // Messages per unit of the simulator's trades/s knob, re-measured each step: a trade stream
  // gives one per trade, an aggTrade stream ~0.57 (the market makes ~1.8 fills per taker order).
  let perKnob = ingestor.streams.reduce((n, s) => n + (s.endsWith('@trade') ? 1 : s.endsWith('@aggTrade') ? 0.57 : 0), 0) / opts.symbols.length;
  const steps: Step[] = [];
  const run = async (nominal: number): Promise<Step> => {
    const step = await climbStep(ingestor, opts, nominal, perKnob);
    if (step.offered > 0 && !step.simulatorBound) perKnob *= step.offered / nominal;
    steps.push(step);
    log(describeStep(ingestor.name, step));
    return step;
  };
  let failed: Step | undefined;
  for (const rate of opts.rates) {
    const step = await run(rate);
    if (!step.held || step.simulatorBound) {
      failed = step;
      break;
    }
  }
  const lastHeld = steps.filter((s) => s.held).at(-1);
  if (opts.refine && failed !== undefined && !failed.simulatorBound && lastHeld !== undefined) {
    await run(Math.round(Math.sqrt(lastHeld.nominal * failed.nominal)));
  }
  return steps;
}

async function climbStep(ingestor: Ingestor, opts: LadderOptions, nominal: number, perKnob: number): Promise<Step> {
  const { sim } = opts;
  const { streams } = ingestor;
  const knob = nominal / perKnob / opts.symbols.length;
  // A step that ended with messages not yet in Kafka must not hand them to this one's count.
  const settled = await settle(ingestor, opts.maxDrainMs);
  const [e0, r0, s0] = [emittedCount(await sim.emitted(), streams), await ingestor.records(), await sim.stats()];
  await sim.burst(knob, opts.warmupMs + opts.windowMs + opts.maxDrainMs + 10_000);
  await sim.stall(1);
  await sleep(opts.warmupMs);
  const window = async () => ({
    at: performance.now(),
    emitted: emittedCount(await sim.emitted(), streams),
    sample: sampleProcess(ingestor.pid),
    stats: await sim.stats(),
  });
  const w0 = await window();
  await sleep(opts.windowMs);
  const w1 = await window();
  const load = loadavg()[0]!;
  await sim.stall(HOUR_MS);
  const stalledAt = performance.now();
  const emitted = emittedCount(await sim.emitted(), streams) - e0;
  const cut = (await sim.stats()).slowConsumerDisconnects - s0.slowConsumerDisconnects;

  // Wait for the backlog with progress: until every message is in Kafka, nothing arrived for a
  // while (the rest is lost), or maxDrainMs passed (the rest was not written in time).
  let written = (await ingestor.records()) - r0;
  let progressAt = performance.now();
  while (written < emitted && performance.now() - stalledAt < opts.maxDrainMs && performance.now() - progressAt < Math.min(opts.maxDrainMs, 10_000)) {
    await sleep(200);
    const now = (await ingestor.records()) - r0;
    if (now > written) progressAt = performance.now();
    written = now;
  }
  const drainMs = performance.now() - stalledAt;
  const seconds = (w1.at - w0.at) / 1000;
  const windowMsgs = w1.emitted - w0.emitted;
  const offered = windowMsgs / seconds;
  const unwritten = emitted - written;
  const failure = !settled
    ? `the previous step's backlog was still reaching Kafka ${(opts.maxDrainMs / 1000).toFixed(0)} s later`
    : unwritten > 0
      ? `${fmt(unwritten)} of ${fmt(emitted)} not in Kafka ${(drainMs / 1000).toFixed(0)} s after the feed stopped`
      : unwritten < 0
        ? `${fmt(-unwritten)} more records than messages (duplicates)`
        : cut > 0
          ? `cut ${cut}× as a slow consumer`
          : drainMs > opts.drainOkMs
            ? `fell behind: the backlog took ${(drainMs / 1000).toFixed(1)} s to reach Kafka`
            : '';
  return {
    nominal,
    offered,
    cpuPer100k: windowMsgs > 0 ? ((w1.sample.cpuSeconds - w0.sample.cpuSeconds) / windowMsgs) * 100_000 : NaN,
    rssMib: w1.sample.rssMib,
    emitted,
    unwritten,
    drainMs,
    cut,
    load,
    simulatorBound: w1.stats.marketSlowedDownMs - w0.stats.marketSlowedDownMs > 0.1 * (w1.at - w0.at),
    held: failure === '',
    failure,
  };
}

/** Waits until the ingestor's topics stop growing (2 s without a new record); false when they still grow after `maxMs`. */
async function settle(ingestor: Ingestor, maxMs: number): Promise<boolean> {
  const started = performance.now();
  let records = await ingestor.records();
  let stillAt = performance.now();
  while (performance.now() - stillAt < 2_000) {
    if (performance.now() - started > maxMs) return false;
    await sleep(250);
    const now = await ingestor.records();
    if (now !== records) [records, stillAt] = [now, performance.now()];
  }
  return true;
}

function describeStep(name: string, s: Step): string {
  return (
    `${name}: asked ${fmt(s.nominal)}/s, offered ${fmt(s.offered)}/s${s.simulatorBound ? ' (simulator-bound)' : ''}, ` +
    `${s.cpuPer100k.toFixed(2)} CPU s/100k, RSS ${s.rssMib.toFixed(0)} MiB, ${fmt(s.emitted)} msgs, drained in ${fmt(s.drainMs)} ms, ` +
    `load ${s.load.toFixed(1)} — ${s.held ? 'held' : `NOT held: ${s.failure}`}`
  );
}
