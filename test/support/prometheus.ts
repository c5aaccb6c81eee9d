import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { waitFor } from './wait.js';

/**
 * A real Prometheus server (the binary installed by scripts/services/prometheus.sh) scraping the
 * given `host:port` targets every second, with its own config, data folder and free port. Callers
 * register `t.after(() => prom.close())`.
 */

export interface PromSample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface PrometheusServer {
  readonly url: string;
  /** An instant query; one sample per series. */
  query(promql: string): Promise<PromSample[]>;
  /** Polls `promql` until `accept` holds for its result; fails after `timeoutMs` with the target states. */
  waitFor(promql: string, accept: (samples: PromSample[]) => boolean, timeoutMs?: number): Promise<PromSample[]>;
  /** What Prometheus reports about each target (health, lastError). */
  targets(): Promise<{ scrapeUrl: string; health: string; lastError: string }[]>;
  close(): Promise<void>;
}

export interface StartPrometheusOptions {
  readonly scrapeIntervalSeconds?: number;
  readonly metricsPath?: string;
  readonly jobName?: string;
}

export async function startPrometheus(targets: readonly string[], options: StartPrometheusOptions = {}): Promise<PrometheusServer> {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-prometheus-'));
  const interval = `${options.scrapeIntervalSeconds ?? 1}s`;
  const config = {
    global: { scrape_interval: interval, scrape_timeout: interval, evaluation_interval: interval },
    scrape_configs: [
      {
        job_name: options.jobName ?? 'tickflow',
        metrics_path: options.metricsPath ?? '/metrics',
        static_configs: [{ targets: [...targets] }],
      },
    ],
  };
  const configFile = join(dir, 'prometheus.yml');
  await writeFile(configFile, stringify(config));

  // The free port may be taken between probing and binding: try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    let proc: ChildProcess;
    try {
      proc = spawn(
        'prometheus',
        [`--config.file=${configFile}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
    } catch (err) {
      await rm(dir, { recursive: true, force: true });
      throw err;
    }
    let stderr = '';
    proc.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
    const spawned = await Promise.race([
      once(proc, 'spawn').then(() => true),
      once(proc, 'error').then(([err]) => {
        lastError = new Error(`cannot start prometheus (${(err as Error).message}); install it with scripts/services/prometheus.sh ensure`);
        return false;
      }),
    ]);
    if (spawned && (await waitReady(proc, url))) {
      return handle(proc, url, dir);
    }
    lastError ??= new Error(`prometheus did not become ready on ${url}: ${stderr}`);
    await stop(proc);
    if (!spawned) break;
  }
  await rm(dir, { recursive: true, force: true });
  throw lastError;
}

function handle(proc: ChildProcess, url: string, dir: string): PrometheusServer {
  const server: PrometheusServer = {
    url,
    async query(promql) {
      const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        status: string;
        error?: string;
        data?: { result: { metric: Record<string, string>; value: [number, string] }[] };
      };
      if (body.status !== 'success') throw new Error(`query ${promql} failed: ${body.error}`);
      return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets`);
      const body = (await res.json()) as { data: { activeTargets: { scrapeUrl: string; health: string; lastError: string }[] } };
      return body.data.activeTargets.map(({ scrapeUrl, health, lastError }) => ({ scrapeUrl, health, lastError }));
    },
    async waitFor(promql, accept, timeoutMs = 30_000) {
      let last: PromSample[] = [];
      try {
        const matches = async () => {
          last = await server.query(promql);
          return accept(last);
        };
        await waitFor(`${promql} to match`, matches, { limitMs: timeoutMs, everyMs: 250 });
        return last;
      } catch (cause) {
        throw new Error(`${(cause as Error).message}; last result ${JSON.stringify(last)}; targets ${JSON.stringify(await server.targets())}`, { cause });
      }
    },
    async close() {
      await stop(proc);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return server;
}

async function waitReady(proc: ChildProcess, url: string): Promise<boolean> {
  const ready = async () => {
    if (proc.exitCode !== null) return 'exited';
    return (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok === true && 'ready';
  };
  return (await waitFor('Prometheus ready', ready, { limitMs: 30_000, everyMs: 100 }).catch(() => 'timed out')) === 'ready';
}

async function stop(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = once(proc, 'exit');
  proc.kill('SIGTERM');
  const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(timer);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      srv.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
