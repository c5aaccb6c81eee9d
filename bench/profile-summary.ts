/**
 * Summarises V8 CPU profiles (`node --cpu-prof`, `.cpuprofile` JSON) as the top self-time
 * functions and the self time per file, so docs/benchmarks.md can show where a path spends its
 * time before and after a change. Idle and GC stay rows of their own (the share of time the
 * thread waited, and what allocation cost). Usage:
 * `npx tsx bench/profile-summary.ts <file.cpuprofile> [top=20] [--between functionName]`.
 */
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { parseArgs } from 'node:util';
import { REPO_ROOT } from '../test/support/data.js';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/**
 * Self time in µs per function (`name file:line`; sources run through tsx report line 1) and per
 * file, over the samples' time deltas. With `between`, only the samples from the first to the last
 * one whose stack holds a function of that name count: the measured work without start-up and
 * shutdown.
 */
export function selfTimes(profile: CpuProfile, between?: string): { total: number; byFunction: Map<string, number>; byFile: Map<string, number> } {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const holds = (id: number): boolean => {
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) if (nodes.get(at)?.callFrame.functionName === between) return true;
    return false;
  };
  let first = 0;
  let last = profile.samples.length - 1;
  if (between !== undefined) {
    first = profile.samples.findIndex(holds);
    last = profile.samples.findLastIndex(holds);
    if (first < 0) throw new Error(`no sample has ${between} on its stack`);
  }
  const byFunction = new Map<string, number>();
  const byFile = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = nodes.get(id)?.callFrame;
    const dt = profile.timeDeltas[i] ?? 0;
    if (!frame || i < first || i > last) return;
    total += dt;
    const file = shortUrl(frame.url);
    const line = frame.lineNumber > 0 ? `:${frame.lineNumber + 1}` : '';
    const name = `${frame.functionName || '(anonymous)'}${file ? ` ${file}${line}` : ''}`;
    byFunction.set(name, (byFunction.get(name) ?? 0) + dt);
    const group = file || frame.functionName;
    byFile.set(group, (byFile.get(group) ?? 0) + dt);
  });
  return { total, byFunction, byFile };
}

/** Paths relative to the repository, node_modules shortened to the package's own path. */
function shortUrl(url: string): string {
  const path = url.replace(/^file:\/\//, '');
  const modules = path.lastIndexOf('node_modules/');
  if (modules >= 0) return path.slice(modules + 'node_modules/'.length);
  return path.startsWith('/') ? relative(REPO_ROOT, path) : path;
}

/** The `n` largest entries of `map` (µs), one line each: share of `total`, ms, name. */
export function top(map: Map<string, number>, total: number, n: number): string[] {
  return [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([name, us]) => `${((100 * us) / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(7)} ms  ${name}`);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { between: { type: 'string' } } });
  const [file, n = '20'] = positionals;
  if (!file) throw new Error('usage: npx tsx bench/profile-summary.ts <file.cpuprofile> [top=20] [--between functionName]');
  const { total, byFunction, byFile } = selfTimes(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, values.between);
  console.log(`${file}: ${(total / 1e6).toFixed(1)} s sampled${values.between ? ` from the first to the last sample in ${values.between}` : ''}`);
  console.log('top self time by function:');
  for (const line of top(byFunction, total, Number(n))) console.log(line);
  console.log('self time by file:');
  for (const line of top(byFile, total, Number(n))) console.log(line);
}
