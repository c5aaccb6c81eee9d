import type { Config } from '../config/schema.js';
import { access } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Market } from '../core/events.js';
import { ErrorCodes, TickflowError } from '../core/errors.js';
import type { Logger } from '../ops/logger.js';
import { KEEPALIVE } from '../sources/binance/streams.js';
import { EmittedTracker, type EmittedReport } from './emitted.js';
import { applyFault, createFaults, FaultRequestError, type Faults } from './faults.js';
import { Generator } from './generator.js';
import { Hub, type SimulatorStats } from './hub.js';
import { Replayer } from './replay.js';
import { createRestHandler } from './rest.js';
import type { MarketEngine } from './types.js';
import { attachWebSocketServer } from './ws-server.js';

export type { EmittedReport, StreamEmitted } from './emitted.js';
export type { Faults, FaultName } from './faults.js';
export type { SimulatorStats } from './hub.js';
export { FAULT_NAMES, FAULT_SPECS } from './faults.js';

/**
 * How startSimulator runs: where it listens, what it trades or replays, at what rates, with which
 * connection rules and weight limit.
 */
export interface SimulatorOptions {
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  symbols: string[];
  market?: Market;
  seed?: number;
  /** Per symbol. */
  tradesPerSecond?: number;
  /** Per symbol: book updates at the touch (each a bookTicker). */
  bookTickersPerSecond?: number;
  /** Replay these recordings instead of generating a market. */
  replayFiles?: string[];
  /** 0 = as fast as the clients take it, 1 = real time. */
  replaySpeed?: number;
  connectionLifetimeMs?: number;
  /** Server ping cadence; default the market's documented one (spot 20 s, USD-M 3 min). */
  pingIntervalMs?: number;
  /** Cut a client that has not answered a ping for this long; default spot 1 min, USD-M 10 min. */
  pongTimeoutMs?: number;
  weightLimitPerMinute?: number;
  /** Trades and aggTrades kept per symbol for the REST history endpoints. */
  historySize?: number;
  /** A client with more than this many bytes queued towards it is cut (slow consumer); default 64 MiB. */
  maxClientBufferBytes?: number;
  /** Where slow-consumer cuts are logged (warn); nowhere when absent. */
  logger?: Logger;
  /**
   * Epoch ms, default Date.now. The generated market's time and event times, the REST weight
   * windows and bans, and the WebSocket incoming-message rate read it, so a test steps through a
   * burst, a calendar minute or a second of requests by setting it.
   */
  clock?: () => number;
}

/** A running exchange simulator: its URLs, fault injection, what it delivered, stop(). */
export interface Simulator {
  /**
   * ws://HOST:PORT — clients use `${wsBaseUrl}/stream?streams=...` or `/ws/<stream>`; USD-M clients
   * put `/public` or `/market` before them.
   */
  readonly wsBaseUrl: string;
  /** http://HOST:PORT (the same port). */
  readonly restBaseUrl: string;
  readonly faults: Faults;
  /** Per stream, the ids actually sent to at least one client. */
  emitted(): EmittedReport;
  /** Open connections, slow consumers cut and market slow-down so far (also GET /sim/stats). */
  stats(): SimulatorStats;
  close(): Promise<void>;
}

const DEFAULTS = {
  host: '127.0.0.1',
  port: 0,
  market: 'spot' as Market,
  seed: 42,
  tradesPerSecond: 20,
  bookTickersPerSecond: 10,
  replaySpeed: 1,
  connectionLifetimeMs: 24 * 3_600_000,
  weightLimitPerMinute: 6_000,
  historySize: 100_000,
  maxClientBufferBytes: 64 * 1024 * 1024,
  clock: Date.now as () => number,
};

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json;charset=UTF-8', ...headers });
  res.end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new FaultRequestError('body is not JSON');
  }
}

/** The seeded generator, or the replay of recordings when replayFiles are given. */
async function createMarket(opts: typeof DEFAULTS & SimulatorOptions, hub: Hub): Promise<MarketEngine> {
  const files = opts.replayFiles ?? [];
  if (files.length === 0) {
    const { symbols, market, seed, tradesPerSecond, bookTickersPerSecond, historySize, clock } = opts;
    return new Generator({ symbols, market, seed, tradesPerSecond, bookTickersPerSecond, historySize, clock }, hub);
  }
  for (const file of files) {
    await access(file).catch((err: unknown) => {
      throw new TickflowError(ErrorCodes.CONFIG_INVALID, `simulator.replayFiles: cannot read ${file}`, { cause: err });
    });
  }
  return new Replayer({ files, speed: opts.replaySpeed, market: opts.market, historySize: opts.historySize }, hub);
}

/**
 * A local exchange speaking Binance's WebSocket Streams (spot, or USD-M with its routed paths) and
 * REST protocol: a seeded market
 * (or a replayed recording), fault injection, and a record of what it sent.
 */
export async function startSimulator(options: SimulatorOptions): Promise<Simulator> {
  const opts = { ...DEFAULTS, ...options };
  const emitted = new EmittedTracker();
  const hub = new Hub(emitted, opts.logger);
  // What was published so far, written out first: a frame counts as emitted once it is written.
  const report = (): EmittedReport => {
    hub.flushAll();
    return emitted.report();
  };
  const timers = new Set<NodeJS.Timeout>();
  const market = await createMarket(opts, hub);
  const faults = createFaults(hub, market, timers);
  const stats = (): SimulatorStats => ({ ...hub.stats(), marketSlowedDownMs: market.slowedDownMs() });
  const rest = createRestHandler(market, opts.weightLimitPerMinute, opts.market, opts.clock);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://sim');
    if (rest(req, res, url)) return;
    const fault = /^\/sim\/faults\/([A-Za-z]+)$/.exec(url.pathname);
    if (fault !== null && req.method === 'POST') {
      readJson(req)
        .then((body) => sendJson(res, 200, { ok: true, result: applyFault(faults, fault[1] ?? '', body, market.instruments()[0]?.symbol) ?? null }))
        .catch((err: unknown) =>
          sendJson(res, err instanceof FaultRequestError ? 400 : 500, { ok: false, error: String(err instanceof Error ? err.message : err) }),
        );
      return;
    }
    if (url.pathname === '/sim/emitted' && req.method === 'GET') return sendJson(res, 200, report());
    if (url.pathname === '/sim/stats' && req.method === 'GET') return sendJson(res, 200, stats());
    sendJson(res, 404, { code: -1, msg: 'Not found.' });
  });
  const keepAlive = KEEPALIVE[opts.market];
  const wss = attachWebSocketServer(
    server,
    hub,
    {
      pingIntervalMs: opts.pingIntervalMs ?? keepAlive.pingIntervalMs,
      pongTimeoutMs: opts.pongTimeoutMs ?? keepAlive.pongTimeoutMs,
      lifetimeMs: opts.connectionLifetimeMs,
      maxIncomingPerSecond: keepAlive.maxIncomingPerSecond,
      maxBufferedBytes: opts.maxClientBufferBytes,
      clock: opts.clock,
    },
    opts.market,
  );

  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) =>
      reject(new TickflowError(ErrorCodes.CONFIG_INVALID, `simulator cannot listen on ${opts.host}:${opts.port}: ${err.message}`, { cause: err }));
    server.once('error', fail);
    server.listen(opts.port, opts.host, () => {
      server.off('error', fail);
      resolve();
    });
  });
  market.start();
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;

  let closed: Promise<void> | null = null;
  return {
    wsBaseUrl: `ws://${host}:${port}`,
    restBaseUrl: `http://${host}:${port}`,
    faults,
    emitted: report,
    stats,
    close: () =>
      (closed ??= (async () => {
        await market.stop();
        hub.stop();
        for (const t of timers) clearTimeout(t);
        hub.dropAll();
        wss.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
      })()),
  };
}

/** Simulator options from the `simulator` and `source` sections of the configuration. */
export function simulatorOptionsFrom(config: Pick<Config, 'simulator' | 'source'>, port = config.simulator.port): SimulatorOptions {
  const s = config.simulator;
  return {
    host: s.host,
    port,
    symbols: [...config.source.symbols],
    market: config.source.market,
    seed: s.seed,
    tradesPerSecond: s.tradesPerSecond,
    bookTickersPerSecond: s.bookTickersPerSecond,
    replayFiles: [...s.replayFiles],
    replaySpeed: s.replaySpeed,
    connectionLifetimeMs: s.connectionLifetimeMs,
    pingIntervalMs: s.pingIntervalMs,
    pongTimeoutMs: s.pongTimeoutMs,
    weightLimitPerMinute: s.weightLimitPerMinute,
    historySize: s.historySize,
    maxClientBufferBytes: s.maxClientBufferBytes,
  };
}
