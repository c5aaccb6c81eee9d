import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './data.js';
import { waitFor } from './wait.js';

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far (logs). */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (or 128+signal). */
  readonly exited: Promise<number>;
  /**
   * Resolves when a stderr line matches. Rejects when the process exits first, or when it made no
   * progress for `idleMs` (default 60 s): no new stderr output and no CPU time used by it or its
   * child processes (initdb, the embedded PostgreSQL). A busy machine is slow, not stuck; a start
   * that takes minutes while it still computes is no failure, a silent idle process is. A process
   * that keeps working without ever logging the line fails at waitFor's `maxMs`.
   */
  waitForLog(pattern: RegExp, idleMs?: number): Promise<string>;
}

/**
 * Runs the real `tickflow` CLI from source in a child process (JSON logs on stderr). `nodeArgs`
 * go to node itself (benchmarks pass `--cpu-prof`, which NODE_OPTIONS does not accept). `entry`
 * `compiled` runs dist/cli/main.js (`npm run build`) as an installed tickflow does, without tsx's
 * transpiler in the process (benchmarks of memory).
 */
export function spawnTickflow(
  args: readonly string[],
  env: Record<string, string> = {},
  nodeArgs: readonly string[] = [],
  entry: 'source' | 'compiled' = 'source',
): CliProcess {
  const main = entry === 'compiled' ? [join(REPO_ROOT, 'dist', 'cli', 'main.js')] : ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts')];
  return spawnProcess(process.execPath, [...nodeArgs, ...main, ...args], {
    TICKFLOW_OPS_LOG_FORMAT: 'json',
    TICKFLOW_OPS_STATUS_LINE: 'off',
    ...env,
  });
}

/** Runs `command` in a child process in the repository root, output captured (bench/peers runs Python this way). */
export function spawnProcess(command: string, args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(command, args, {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  let running = true;
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => {
      running = false;
      resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15));
    }),
  );
  const match = (pattern: RegExp) => err.split('\n').find((l) => pattern.test(l));
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    exited,
    waitForLog: async (pattern, idleMs = 60_000) => {
      try {
        return await waitFor(
          `a log line matching ${pattern}`,
          () => {
            if (running) return match(pattern);
            throw new Error(`process exited before logging ${pattern}`);
          },
          { progress: () => `${err.length}:${treeCpuTicks(child.pid)}`, limitMs: idleMs, everyMs: 200 },
        );
      } catch (cause) {
        throw new Error(`${(cause as Error).message}; stderr:\n${err.slice(-3000)}`, { cause });
      }
    },
  };
}

/**
 * Sends SIGTERM to `child` once it stood still for `idleMs`: no output on stdout or stderr and no
 * CPU time used by it or its children (treeCpuTicks), checked every second. For child processes
 * that end on their own but might hang: a busy machine makes them slow, which this never cuts short.
 */
export function stopWhenIdle(child: ChildProcess, idleMs: number): { stop(): void } {
  let output = 0;
  const count = (d: Buffer) => {
    output += d.length;
  };
  child.stdout?.on('data', count);
  child.stderr?.on('data', count);
  let seen = '';
  let lastChange = Date.now();
  const timer = setInterval(() => {
    const now = `${output}:${treeCpuTicks(child.pid)}`;
    if (now !== seen) {
      seen = now;
      lastChange = Date.now();
    } else if (Date.now() - lastChange > idleMs) {
      clearInterval(timer);
      child.kill('SIGTERM');
    }
  }, 1_000);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/**
 * CPU time (clock ticks) used by `pid` and its live descendants, read from /proc (Linux, where CI
 * runs); 0 elsewhere, where only output counts as progress.
 */
function treeCpuTicks(pid: number | undefined): number {
  if (pid === undefined) return 0;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after "(comm)": state is field 3, utime/stime/cutime/cstime are fields 14-17.
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let total = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').split(' ').filter(Boolean);
      for (const c of children) total += treeCpuTicks(Number(c));
    }
    return total;
  } catch {
    return 0; // the process (or a child) ended meanwhile, or no /proc
  }
}

/** The parent's environment without TICKFLOW_* settings that would leak into the child. */
function cleanEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('TICKFLOW_')) env[k] = v;
  return env;
}

/**
 * The exit code, or a failed test with the tail of stderr when the process is still running after
 * `timeoutMs` (it is killed then): for commands that must stop on their own.
 */
export async function exitedWithin(cli: CliProcess, timeoutMs: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      cli.child.kill('SIGKILL');
      reject(new Error(`tickflow did not exit within ${timeoutMs} ms; stderr:\n${cli.stderr().slice(-3000)}`));
    }, timeoutMs);
  });
  try {
    return await Promise.race([cli.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Arguments of `tickflow run --source sim` on `dataDir`: embedded database and API on free ports, 200 ms batches, 100 trades/s. */
export function simRunArgs(dataDir: string, symbols: string, streams: string): string[] {
  return [
    'run',
    '--source',
    'sim',
    '--symbols',
    symbols,
    '--streams',
    streams,
    '--data-dir',
    dataDir,
    '--port',
    '0',
    '--set',
    'store.embeddedPort=0',
    '--set',
    'store.batchMs=200',
    '--set',
    'simulator.tradesPerSecond=100',
  ];
}
