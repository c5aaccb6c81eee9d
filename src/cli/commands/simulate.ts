import type { Command } from 'commander';
import { ErrorCodes, TickflowError } from '../../core/errors.js';
import { createLogger } from '../../ops/logger.js';
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

async function control(url: string, path: string, init?: RequestInit): Promise<void> {
  let res: Response;
  try {
    res = await fetch(new URL(path, url), init);
  } catch (err) {
    throw new TickflowError(ErrorCodes.SOURCE_UNREACHABLE, `no simulator answers at ${url} (start one with "tickflow simulate")`, { cause: err });
  }
  const text = await res.text();
  process.stdout.write(`${text}\n`);
  if (!res.ok) throw new TickflowError(ErrorCodes.CONFIG_INVALID, `simulator refused ${path}: HTTP ${res.status}`);
}

export function registerSimulate(program: Command): void {
  const cmd = program
    .command('simulate')
    .description(
      'run a local exchange that speaks Binance spot WebSocket Streams and REST (generated market or replayed recordings), with fault injection',
    )
    .option('--listen-host <host>', 'bind address [simulator.host]')
    .option('--listen-port <port>', `port for WebSocket and REST (default: simulator.port if not 0, else ${CLI_DEFAULT_PORT}; 0 picks a free port)`)
    .option('--seed <n>', 'PRNG seed: the same seed gives the same market [simulator.seed]')
    .option('--trades-per-second <n>', 'trades per second per symbol [simulator.tradesPerSecond]')
    .option('--replay <file>', 'replay a recording instead of generating; starts when the first client subscribes (repeatable) [simulator.replayFiles]', collect, [] as string[])
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
    if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new TickflowError(ErrorCodes.CONFIG_INVALID, `--listen-port: expected a port number, got ${String(opts.listenPort)}`);
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

  cmd
    .command('fault <name>')
    .description('inject a fault into a running simulator: dropConnections, stall, malformed, duplicate, reorder, skipIds, burst, whale, shutdownNotice')
    .option('--json <body>', 'the fault parameters, e.g. \'{"ms":5000}\', \'{"n":3}\', \'{"symbol":"BTCUSDT","stream":"trade","n":5}\', \'{"symbol":"BTCUSDT","notional":250000}\'', '{}')
    .option('--url <url>', 'the simulator', DEFAULT_CONTROL_URL)
    .action(async (name: string, opts: { json: string; url: string }) => {
      await control(opts.url, `/sim/faults/${encodeURIComponent(name)}`, { method: 'POST', body: opts.json, headers: { 'content-type': 'application/json' } });
    });

  cmd
    .command('emitted')
    .description('print what a running simulator has sent, per stream (ids and ranges)')
    .option('--url <url>', 'the simulator', DEFAULT_CONTROL_URL)
    .action(async (opts: { url: string }) => {
      await control(opts.url, '/sim/emitted');
    });
}
