import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../test/support/data.js';
import { type CliProcess, spawnProcess } from '../../test/support/cli.js';
import { stopChild } from './children.js';

/**
 * The Python peers of bench/peers.ts: the venv that bench/peers/install.sh makes, and one peer
 * script of bench/peers/ in a child process of its own (so /proc shows its CPU and memory alone).
 */

const PEERS = join(REPO_ROOT, 'bench', 'peers');

/** Runs bench/peers/install.sh (quick when the venv is current) and returns the venv's python. */
export function installPeers(): string {
  const out = execFileSync('bash', [join(PEERS, 'install.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const python = out.trim().split('\n').at(-1);
  if (python === undefined || python === '') throw new Error('bench/peers/install.sh printed no python path');
  return python;
}

export interface PeerProcess {
  readonly pid: number;
  readonly cli: CliProcess;
  /** SIGTERM (the peer flushes and prints its counters), SIGKILL after `timeoutMs`; the exit code. */
  stop(timeoutMs?: number): Promise<number>;
}

/** `python bench/peers/<script> ...args`, resolved once it logs `ready` on stderr. */
export async function startPeer(python: string, script: string, args: readonly string[]): Promise<PeerProcess> {
  const cli = spawnProcess(python, ['-u', join(PEERS, script), ...args]);
  try {
    await cli.waitForLog(/^ready$/m, 60_000);
  } catch (err) {
    cli.child.kill('SIGKILL');
    throw err;
  }
  return { pid: cli.child.pid!, cli, stop: (timeoutMs = 30_000) => stopChild(cli, timeoutMs) };
}
