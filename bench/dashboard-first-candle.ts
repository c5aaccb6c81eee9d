/**
 * How soon a user sees a candle after `npm start -- --source sim`, and what the page weighs.
 *
 * Each run spawns `node bin/tickflow.js run --source sim` (a fresh --data-dir, a free --port, the
 * embedded database on port 0) and, in an already running headless Chromium with a fresh context
 * (empty cache), polls the dashboard URL like a user pressing reload, opens it and waits for
 * `#chart` data-bars >= 1. Reported per run: spawn → HTTP answers, → DOMContentLoaded, → first
 * candle; then the median over the runs. The last run also lists what the page transferred
 * (navigation + resource timing: transferSize, encoded and decoded body sizes, Content-Encoding).
 * The live stream (EventSource) never completes, so resource timing has no entry for it.
 *
 * bin/tickflow.js runs dist/cli when `npm run build` made it, else the sources through tsx; the
 * output says which. --runner tsx forces the sources through tsx; --runner compiled compiles the
 * current sources without touching dist/ (which would switch everybody's bin/tickflow.js to it):
 * `tsc -p tsconfig.build.json` into node_modules/.cache/tickflow-bench-dist, with the dashboard
 * build beside it, as `npm run build` lays it out.
 *
 *   npx tsx bench/dashboard-first-candle.ts [--runs 3] [--runner bin|tsx|compiled]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { failOnProblems, printMachine } from './support/report.js';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { REPO_ROOT } from '../test/support/data.js';

const { values: args } = parseArgs({ options: { runs: { type: 'string', default: '3' }, runner: { type: 'string', default: 'bin' } } });
const runs = Number(args.runs);

/** How to start the CLI (arguments for node), and what that runs. */
function entryPoint(): { argv: string[]; runs: string } {
  switch (args.runner) {
    case 'bin': {
      const compiled = existsSync(join(REPO_ROOT, 'dist', 'cli', 'main.js'));
      return { argv: [join(REPO_ROOT, 'bin', 'tickflow.js')], runs: `bin/tickflow.js → ${compiled ? 'dist/ (compiled)' : 'src/ through tsx (no dist/cli)'}` };
    }
    case 'tsx':
      return { argv: ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts')], runs: 'src/ through tsx (as bin/tickflow.js without dist/)' };
    case 'compiled': {
      // dist/, as `npm run build` does: core/version.ts reads the package.json two levels above it.
      const out = join(REPO_ROOT, 'dist');
      rmSync(out, { recursive: true, force: true });
      // tsc exits non-zero on type errors elsewhere in the tree but still emits every file.
      try {
        execFileSync(process.execPath, [join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', out], {
          cwd: REPO_ROOT,
          stdio: 'ignore',
        });
      } catch {
        if (!existsSync(join(out, 'cli', 'main.js'))) throw new Error('tsc emitted no cli/main.js');
      }
      execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-web.mjs'), join(out, 'web', 'public')], { cwd: REPO_ROOT, stdio: 'ignore' });
      return { argv: [join(out, 'cli', 'main.js')], runs: 'the current sources compiled by tsc (as dist/ after npm run build)' };
    }
    default:
      throw new Error(`--runner ${args.runner}: expected bin, tsx or compiled`);
  }
}
const entry = entryPoint();
// A checkout that has not run npm test or npm run build has no dashboard bundle: the page would be
// a 503 and every run would wait out its timeout.
if (!existsSync(join(REPO_ROOT, 'dist', 'web', 'public', 'index.html'))) {
  execFileSync(process.execPath, [join(REPO_ROOT, 'scripts', 'build-web.mjs')], { cwd: REPO_ROOT, stdio: 'ignore' });
}

/** Installed by scripts/services/chromium.sh. */
const CHROMIUM = '/usr/bin/chromium';
const POLL_MS = 25;

interface Timings {
  /** The first log line ("schema migration applied"): modules loaded, embedded PGlite up. */
  readonly firstLogMs: number;
  readonly listeningMs: number;
  readonly domContentLoadedMs: number;
  readonly firstCandleMs: number;
}

interface Transfer {
  readonly name: string;
  readonly transferSize: number;
  readonly encodedBodySize: number;
  readonly decodedBodySize: number;
  contentEncoding?: string;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
});

async function measure(keepTransfers: boolean): Promise<{ timings: Timings; transfers: Transfer[] }> {
  const dataDir = mkdtempSync(join(tmpdir(), 'tf-bench-dash-'));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}/`;
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const started = performance.now();
  const spawnedAt = Date.now();
  const child = spawn(
    process.execPath,
    [...entry.argv, 'run', '--source', 'sim', '--data-dir', dataDir, '--port', String(port), '--set', 'store.embeddedPort=0'],
    { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, TICKFLOW_OPS_STATUS_LINE: 'off', TICKFLOW_OPS_LOG_FORMAT: 'json' } },
  );
  let stderr = '';
  let firstLogAt = NaN;
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
    if (Number.isNaN(firstLogAt)) firstLogAt = Number(/"time":(\d+)/.exec(stderr)?.[1] ?? NaN);
  });
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`tickflow exited early:\n${stderr}`);
      if (performance.now() - started > 120_000) throw new Error(`no answer on ${url} within 120 s:\n${stderr}`);
      const ok = await fetch(url).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      await sleep(POLL_MS);
    }
    const listeningMs = performance.now() - started;
    const page = await context.newPage();
    const encodings = new Map<string, string>();
    page.on('response', (r) => encodings.set(r.url(), r.headers()['content-encoding'] ?? 'identity'));
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    const domContentLoadedMs = performance.now() - started;
    await page.waitForFunction(() => Number(document.getElementById('chart')?.dataset.bars ?? 0) >= 1, null, { timeout: 60_000, polling: 'raf' });
    const firstCandleMs = performance.now() - started;
    let transfers: Transfer[] = [];
    if (keepTransfers) {
      // Let the first round of requests (symbols, candles, trades, metrics, pipeline) finish.
      await page.waitForLoadState('networkidle').catch(() => undefined);
      transfers = await page.evaluate(() =>
        [...performance.getEntriesByType('navigation'), ...performance.getEntriesByType('resource')].map((e) => {
          const r = e as PerformanceResourceTiming;
          return { name: r.name, transferSize: r.transferSize, encodedBodySize: r.encodedBodySize, decodedBodySize: r.decodedBodySize };
        }),
      );
      for (const t of transfers) t.contentEncoding = encodings.get(t.name) ?? '?';
    }
    return { timings: { firstLogMs: firstLogAt - spawnedAt, listeningMs, domContentLoadedMs, firstCandleMs }, transfers };
  } finally {
    await context.close();
    await stop(child);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

printMachine('start');
console.log(`${entry.runs}; ${runs} runs, Chromium ${browser.version()} headless, load average ${loadavg()[0]?.toFixed(1)}`);
console.log('run | first log ms | HTTP answers ms | DOMContentLoaded ms | first candle ms');
const all: Timings[] = [];
let transfers: Transfer[] = [];
try {
  for (let i = 0; i < runs; i++) {
    const result = await measure(i === runs - 1);
    all.push(result.timings);
    if (result.transfers.length > 0) transfers = result.transfers;
    const { firstLogMs, listeningMs, domContentLoadedMs, firstCandleMs } = result.timings;
    console.log(`${i + 1} | ${firstLogMs.toFixed(0)} | ${listeningMs.toFixed(0)} | ${domContentLoadedMs.toFixed(0)} | ${firstCandleMs.toFixed(0)}`);
  }
} finally {
  await browser.close();
}
const med = (k: keyof Timings) => median(all.map((t) => t[k])).toFixed(0);
console.log(`median | ${med('firstLogMs')} | ${med('listeningMs')} | ${med('domContentLoadedMs')} | ${med('firstCandleMs')}`);

console.log('\nresource | transferSize | encodedBodySize | decodedBodySize | Content-Encoding');
for (const t of transfers)
  console.log(`${new URL(t.name).pathname}${new URL(t.name).search} | ${t.transferSize} | ${t.encodedBodySize} | ${t.decodedBodySize} | ${t.contentEncoding}`);
const sum = (k: 'transferSize' | 'encodedBodySize' | 'decodedBodySize') => transfers.reduce((n, t) => n + t[k], 0);
console.log(`total | ${sum('transferSize')} | ${sum('encodedBodySize')} | ${sum('decodedBodySize')} |`);
printMachine('end');
failOnProblems(all.length === runs && all.every((t) => Number.isFinite(t.firstCandleMs)) ? [] : [`${all.length} of ${runs} runs showed a first candle`]);
