/**
 * What every benchmark prints, the same way: the machine it ran on (cores, CPU model, load average
 * at the start and at the end), its figure next to a yardstick measured in the same run with the
 * ratio between them (absolute figures only compare on one machine; ratios travel), and a loud
 * failure — a non-zero exit with the reasons — when a run produced nothing or lost anything.
 */
import { cpus, loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';

const fmt = (n: number): string => (Math.abs(n) >= 100 ? Math.round(n).toLocaleString('en-US') : n.toPrecision(3));

/** `2 cores (AMD EPYC 7B13), load average 3.1 2.4 1.9` */
export function machine(): string {
  const list = cpus();
  return `${list.length} cores (${list[0]?.model.trim() ?? 'unknown CPU'}), load average ${loadavg()
    .map((l) => l.toFixed(1))
    .join(' ')}`;
}

/** Prints the machine line; call at the start and at the end of a run (load changes under way). */
export function printMachine(when: 'start' | 'end'): void {
  console.log(`machine at the ${when}: ${machine()}, node ${process.version}`);
}

export interface Comparison {
  /** What was measured, e.g. `simulator → 3 clients`. */
  readonly figure: string;
  readonly value: number;
  /** The yardstick, e.g. `JSON.parse of the same frames, one core`. */
  readonly yardstick: string;
  readonly yardstickValue: number;
  /** Unit of both, e.g. `frames/s`. */
  readonly unit: string;
}

/** Prints the figure, the yardstick from the same run and figure ÷ yardstick. */
export function printComparison(c: Comparison): void {
  console.log(`${c.figure}: ${fmt(c.value)} ${c.unit}`);
  console.log(`yardstick, same run — ${c.yardstick}: ${fmt(c.yardstickValue)} ${c.unit}`);
  console.log(`ratio ${c.figure} / yardstick: ${(c.value / c.yardstickValue).toFixed(3)}`);
}

/**
 * Ends the run with exit code 1 and every problem listed when there is any (nothing produced,
 * something lost, a request that failed); prints `checks passed` otherwise.
 */
export function failOnProblems(problems: readonly string[]): void {
  if (problems.length === 0) {
    console.log('checks passed: the run produced records and lost nothing');
    return;
  }
  console.error(`BENCH FAILED (${problems.length} problem${problems.length === 1 ? '' : 's'}):`);
  for (const p of problems) console.error(`  - ${p}`);
  process.exit(1);
}

/** JSON.parse over `texts`, round after round, for about `ms`: texts per second on one core. */
export function jsonParseRate(texts: readonly string[], ms: number): number {
  if (texts.length === 0) return 0;
  let sink = 0;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < ms) {
    for (const t of texts) sink += Object.keys(JSON.parse(t) as object).length;
    n += texts.length;
  }
  const rate = n / ((performance.now() - t0) / 1000);
  // `sink` keeps the parses from being optimised away.
  return sink === -1 ? 0 : rate;
}
