import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from './data.js';

export interface CliProcess {
  readonly child: ChildProcess;
  /** Everything written to stderr so far (logs). */
  stderr(): string;
  stdout(): string;
  /** Resolves with the exit code (or 128+signal). */
  readonly exited: Promise<number>;
  /** Resolves when a stderr line matches. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

/** Runs the real `tickflow` CLI from source in a child process (JSON logs on stderr). */
export function spawnTickflow(args: readonly string[], env: Record<string, string> = {}): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), ...args], {
    cwd: REPO_ROOT,
    env: { ...cleanEnv(), TICKFLOW_OPS_LOG_FORMAT: 'json', TICKFLOW_OPS_STATUS_LINE: 'off', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  let out = '';
  const waiters: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) {
      const line = err.split('\n').find((l) => w.pattern.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  const exited = new Promise<number>((resolve) =>
    child.on('exit', (code, signal) => resolve(code ?? 128 + (signal === 'SIGKILL' ? 9 : 15))),
  );
  return {
    child,
    stderr: () => err,
    stdout: () => out,
    exited,
    waitForLog: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const line = err.split('\n').find((l) => pattern.test(l));
        if (line !== undefined) return resolve(line);
        const timer = setTimeout(() => reject(new Error(`no log line matching ${pattern} within ${timeoutMs} ms:\n${err.slice(-3000)}`)), timeoutMs);
        waiters.push({ pattern, resolve: (l) => (clearTimeout(timer), resolve(l)) });
        void exited.then(() => reject(new Error(`process exited before logging ${pattern}:\n${err.slice(-3000)}`)));
      }),
  };
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
    '--source', 'sim',
    '--symbols', symbols,
    '--streams', streams,
    '--data-dir', dataDir,
    '--port', '0',
    '--set', 'store.embeddedPort=0',
    '--set', 'store.batchMs=200',
    '--set', 'simulator.tradesPerSecond=100',
  ];
}
