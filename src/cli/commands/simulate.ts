import type { Command } from 'commander';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import { createLogger } from '../../ops/logger.js';
import { FAULT_LIMITS, FAULT_SPECS, type FaultParam } from '../../simulator/faults.js';
import { EXIT_FAILURE } from '../exit.js';
import { addConfigOptions, configFrom } from '../options.js';

/** Binance's own stream port, so that a URL differs from the real one only in the host. */
const CLI_DEFAULT_PORT = 9443;
const DEFAULT_CONTROL_URL = `http://127.0.0.1:${CLI_DEFAULT_PORT}`;
/** After SIGTERM/SIGINT the simulator is gone within this long, whatever its clients do. */
const CLOSE_DEADLINE_MS = 5_000;

function collect(value: string, acc: string[]): string[] {
  return [...acc, value];
}

/**
 * A control request to a running simulator. The answer is JSON: indented on a terminal, one line
 * when piped (for scripts and `jq`).
 * @throws TickflowError TF_SOURCE_UNREACHABLE (nothing answers), TF_SIMULATOR_REFUSED (the
 *   simulator refused, with its reason).
 */
async function control(url: string, path: string, init?: RequestInit): Promise<void> {
  let res: Response;
  try {
    res = await fetch(new URL(path, url), init);
  } catch (err) {
    throw new TickflowError(ErrorCodes.SOURCE_UNREACHABLE, `no simulator answers at ${url} (start one with "tickflow simulate")`, { cause: err });
  }
  const text = await res.text();
  if (!res.ok) {
    const reason = (parseJson(text) as { error?: unknown } | undefined)?.error;
    throw new TickflowError(
      ErrorCodes.SIMULATOR_REFUSED,
      `the simulator at ${url} refused ${path} (HTTP ${res.status}): ${typeof reason === 'string' ? reason : text}`,
    );
  }
  process.stdout.write(`${formatAnswer(text, process.stdout.isTTY === true)}\n`);
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Indented JSON for a person at a terminal; the text as received otherwise. */
export function formatAnswer(text: string, terminal: boolean): string {
  const value = terminal ? parseJson(text) : undefined;
  return value === undefined ? text : JSON.stringify(value, null, 2);
}

/** `ratePerSec` → `--rate-per-sec` */
const flagOf = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
/** Every parameter any fault takes, once (commander names the option `--rate-per-sec` by its key, `ratePerSec`). */
const ALL_PARAMS = [...new Map(Object.values(FAULT_SPECS).flatMap((f) => f.params.map((p) => [p.key, p] as const))).values()];

/** Every fault, its flags and their defaults, for `tickflow simulate fault --help`. */
function faultHelp(): string {
  const lines = Object.entries(FAULT_SPECS).map(([name, spec]) => {
    const flags = spec.params.map((p) => `${flagOf(p.key)} <${p.value}> (default ${p.default})`).join('  ');
    return `  ${name.padEnd(16)}${spec.summary}${flags ? `\n  ${' '.repeat(16)}${flags}` : ''}`;
  });
  const limits = `Limits: durations ≤ ${FAULT_LIMITS.ms} ms (a day), counts ≤ ${FAULT_LIMITS.n}, ratePerSec ≤ ${FAULT_LIMITS.ratePerSec}, notional ≤ ${FAULT_LIMITS.notional}.`;
  return `\nFaults and their parameters (every one has a default, so none is required):\n${lines.join('\n')}\n${limits}\n\nExamples:\n  tickflow simulate fault stall --ms 5000\n  tickflow simulate fault whale --symbol BTCUSDT --notional 250000\n  tickflow simulate fault skipIds --json '{"symbol":"ETHUSDT","n":3}'`;
}

/**
 * The fault's JSON body: `--json`, then the flags on top. A flag the fault does not take is an
 * error naming the ones it does (exit 2), not silently ignored.
 * @throws TickflowError TF_CONFIG_INVALID
 */
export function faultBody(name: string, opts: Record<string, unknown>): Record<string, unknown> {
  const spec = (FAULT_SPECS as Record<string, { params: readonly FaultParam[] }>)[name];
  let body: unknown;
  try {
    body = JSON.parse(String(opts.json ?? '{}'));
  } catch (err) {
    throw new TickflowError(ErrorCodes.CONFIG_INVALID, `--json: not JSON: ${String(opts.json)}`, { cause: err });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw new TickflowError(ErrorCodes.CONFIG_INVALID, '--json: expected a JSON object such as {"n":3}');
  const out: Record<string, unknown> = { ...body };
  for (const p of ALL_PARAMS) {
    const value = opts[p.key];
    if (value === undefined) continue;
    // An unknown fault goes to the simulator as it is: its refusal lists the faults there are.
    if (spec && !spec.params.some((q) => q.key === p.key)) {
      const takes = spec.params.map((q) => flagOf(q.key)).join(', ') || 'no parameters';
      throw new TickflowError(ErrorCodes.CONFIG_INVALID, `${flagOf(p.key)}: fault ${name} takes ${takes}`);
    }
    const number = Number(value);
    out[p.key] = p.key === 'symbol' || p.key === 'stream' || Number.isNaN(number) ? value : number;
  }
  return out;
}

/**
 * `tickflow simulate`: a local exchange that speaks Binance's WebSocket Streams and REST, generating
 * a market or replaying recordings, with fault injection through its control URL (and the `fault`
 * and `emitted` subcommands). A port outside 0-65535 is TF_CONFIG_INVALID.
 */
export function registerSimulate(program: Command): void {
  const cmd = program
    .command('simulate')
    .description('run a local exchange that speaks Binance spot WebSocket Streams and REST (generated market or replayed recordings), with fault injection')
    .option('--listen-host <host>', 'bind address [simulator.host]')
    .option('--listen-port <port>', `port for WebSocket and REST (default: simulator.port if not 0, else ${CLI_DEFAULT_PORT}; 0 picks a free port)`)
    .option('--seed <n>', 'PRNG seed: the same seed gives the same market [simulator.seed]')
    .option('--trades-per-second <n>', 'trades per second per symbol [simulator.tradesPerSecond]')
    .option(
      '--replay <file>',
      'replay a recording instead of generating; starts when the first client subscribes (repeatable) [simulator.replayFiles]',
      collect,
      [] as string[],
    )
    .option('--replay-speed <x>', '0 = as fast as clients take it, 1 = real time [simulator.replaySpeed]')
    .addHelpText(
      'after',
      `
Clients connect to ws://HOST:PORT/stream?streams=btcusdt@trade/... or ws://HOST:PORT/ws/<stream>
(--market usdm: under /public or /market, and each path delivers only its own streams, as on Binance);
REST is http://HOST:PORT/api/v3/... Drive faults from another shell:
  tickflow simulate fault stall --json '{"ms":5000}' --url ${DEFAULT_CONTROL_URL}
  tickflow simulate emitted --url ${DEFAULT_CONTROL_URL}
A client more than simulator.maxClientBufferBytes behind is cut like a slow consumer on Binance;
GET /sim/stats counts the cuts and how long the market was slowed down because the machine could not
hold the asked rate.`,
    );
  addConfigOptions(cmd, ['source.symbols', 'source.market']).action(async (opts: Record<string, unknown>) => {
    const sets = [...((opts.set as string[] | undefined) ?? [])];
    const map: [string, string][] = [
      ['listenHost', 'simulator.host'],
      ['seed', 'simulator.seed'],
      ['tradesPerSecond', 'simulator.tradesPerSecond'],
      ['replaySpeed', 'simulator.replaySpeed'],
    ];
    for (const [opt, key] of map) if (opts[opt] !== undefined) sets.push(`${key}=${String(opts[opt])}`);
    const replay = opts.replay as string[];
    if (replay.length > 0) sets.push(`simulator.replayFiles=${replay.join(',')}`);
    const config = configFrom({ ...opts, set: sets });
    const s = config.simulator;
    const port = opts.listenPort !== undefined ? Number(opts.listenPort) : s.port !== 0 ? s.port : CLI_DEFAULT_PORT;
    if (!Number.isInteger(port) || port < 0 || port > 65_535)
      throw new TickflowError(ErrorCodes.CONFIG_INVALID, `--listen-port: expected a port number, got ${String(opts.listenPort)}`);
    const { startSimulator, simulatorOptionsFrom } = await import('../../simulator/index.js');
    const logger = createLogger({ level: config.ops.logLevel, format: config.ops.logFormat });
    const sim = await startSimulator({ ...simulatorOptionsFrom(config, port), logger });
    const what = s.replayFiles.length > 0 ? `replaying ${s.replayFiles.join(', ')}` : `generating ${config.source.symbols.join(', ')} (seed ${s.seed})`;
    const ws = config.source.market === 'usdm' ? `${sim.wsBaseUrl}/{public,market}` : sim.wsBaseUrl;
    process.stdout.write(
      `tickflow simulator ${what}\n  WebSocket  ${ws}/stream?streams=<stream>/<stream>  or  ${ws}/ws/<stream>\n  REST       ${sim.restBaseUrl}/api/v3/...\n  faults     POST ${sim.restBaseUrl}/sim/faults/<name>   emitted: GET ${sim.restBaseUrl}/sim/emitted\n`,
    );
    await new Promise<void>((resolve) => {
      process.once('SIGINT', resolve);
      process.once('SIGTERM', resolve);
    });
    // Closing cuts every client at once; the deadline only guards against a close that hangs.
    setTimeout(() => {
      process.stderr.write(`tickflow: the simulator did not close within ${CLOSE_DEADLINE_MS} ms; exiting\n`);
      process.exit(EXIT_FAILURE);
    }, CLOSE_DEADLINE_MS).unref();
    await sim.close();
  });

  const fault = cmd
    .command('fault <name>')
    .description(`inject a fault into a running simulator: ${Object.keys(FAULT_SPECS).join(', ')}`)
    .option('--json <body>', 'the parameters as one JSON object; the flags below override its keys', '{}')
    .option('--url <url>', 'the simulator', DEFAULT_CONTROL_URL);
  for (const p of ALL_PARAMS) {
    // `--n` means frames for some faults, events for others: each fault's line below says which.
    const meanings = new Set(Object.values(FAULT_SPECS).flatMap((f) => f.params.filter((q) => q.key === p.key).map((q) => q.description)));
    fault.option(`${flagOf(p.key)} <${p.value}>`, meanings.size === 1 ? p.description : 'how many (see each fault below)');
  }
  fault.addHelpText('after', faultHelp()).action(async (name: string, opts: Record<string, unknown>) => {
    const body = JSON.stringify(faultBody(name, opts));
    await control(String(opts.url), `/sim/faults/${encodeURIComponent(name)}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
  });

  cmd
    .command('emitted')
    .description('print what a running simulator has sent, per stream (ids and ranges): indented on a terminal, one JSON line when piped')
    .option('--url <url>', 'the simulator', DEFAULT_CONTROL_URL)
    .action(async (opts: { url: string }) => {
      await control(opts.url, '/sim/emitted');
    });
}
