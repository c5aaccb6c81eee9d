import type { InstrumentRules } from '../api/pipeline.js';
import { ErrorCodes, TickflowError, errorMessage } from '../core/errors.js';
import { BinanceRestClient } from '../sources/binance/rest.js';
import { type Simulator, simulatorOptionsFrom, startSimulator } from '../simulator/index.js';
import { type MarketSource, marketSources } from '../sources/markets.js';
import { MultiSource } from '../sources/multi.js';
import { exchanges } from '../sources/registry.js';
import { ReplaySource } from '../sources/replay/source.js';
import type { Source } from '../sources/source.js';
import type { RestEndpoint } from '../history/rest-endpoint.js';
import type { LastStoredId } from '../store/resume.js';
import type { RoleContext } from './context.js';

/** A started source with what it read at start (exchangeInfo rules), its simulators and REST clients. */
export interface StartedSource {
  readonly source: Source;
  /** Tick size and lot step of every configured instrument, from exchangeInfo (none for a replay). */
  readonly instruments: readonly InstrumentRules[];
  /** The in-process exchange simulator behind `--source sim` (the first market's). */
  readonly simulator?: Simulator;
  /** Every in-process simulator, by market (`--source sim` with several markets runs one each). */
  readonly simulators: Readonly<Record<string, Simulator>>;
  /** Each market's REST API (book snapshots, gap healing); none for a replay, except heal.replayRestBaseUrl. */
  readonly rest: readonly RestEndpoint[];
}

/**
 * The source registry: `source.kind` picks the implementation, `source.markets` how many run side
 * by side. `sim` is the live Binance client pointed at an in-process simulator per market, so it
 * exercises exactly the code that talks to Binance.
 * `resumeFrom` (the last ids stored, per market) makes a live source report what a restart missed as a gap.
 */
export async function createSource(
  ctx: RoleContext,
  options: { readonly resumeFrom?: (market: MarketSource) => Promise<readonly LastStoredId[]> } = {},
): Promise<StartedSource> {
  const { config, logger, metrics } = ctx;
  const kind = config.source.kind;
  const markets = marketSources(config.source);
  if (kind.startsWith('replay:')) {
    // A recording holds one market's frames: the first configured market names them.
    const market = markets[0]?.market ?? config.source.market;
    const replayRest = config.heal.replayRestBaseUrl;
    return {
      source: new ReplaySource({ file: kind.slice('replay:'.length), config: { ...config.source, market } }, { logger, metrics }),
      simulators: {},
      rest: replayRest === undefined ? [] : [{ market, restBaseUrl: replayRest }],
      instruments: [],
    };
  }
  const simulators: Record<string, Simulator> = {};
  const parts: { label: string; source: Source }[] = [];
  const rest: RestEndpoint[] = [];
  const instruments: InstrumentRules[] = [];
  for (const m of markets) {
    const exchange = exchanges[m.exchange];
    if (!exchange?.markets.includes(m.market)) {
      throw new TickflowError(ErrorCodes.CONFIG_INVALID, `invalid value for source.markets: ${m.exchange} has no market ${m.market}`);
    }
    const label = markets.length > 1 ? `${m.exchange}-${m.market}` : m.exchange;
    let resolved = m;
    if (kind === 'sim') {
      const simulator = await startSimulator({ ...simulatorOptionsFrom(config), market: m.market, symbols: [...m.symbols], logger });
      logger.info({ market: m.market, ws: simulator.wsBaseUrl, rest: simulator.restBaseUrl }, 'exchange simulator started in-process');
      ctx.shutdown.onShutdown(`stop simulator (${m.market})`, () => simulator.close(), 150);
      simulators[m.market] = simulator;
      resolved = { ...m, wsBaseUrl: simulator.wsBaseUrl, restBaseUrl: simulator.restBaseUrl };
    }
    rest.push({
      market: m.market,
      restBaseUrl: resolved.restBaseUrl,
      ...(kind === 'sim' ? { weightLimitPerMinute: config.simulator.weightLimitPerMinute } : {}),
    });
    instruments.push(...(await listedSymbols(ctx, resolved, kind === 'sim')));
    const resumeFrom = options.resumeFrom ? await options.resumeFrom(m) : undefined;
    parts.push({
      label,
      source: exchange.create(resolved, config.source, { logger, metrics }, { label, simulated: kind === 'sim', ...(resumeFrom ? { resumeFrom } : {}) }),
    });
  }
  const source = parts.length === 1 && parts[0] ? parts[0].source : new MultiSource(parts);
  const first = Object.values(simulators)[0];
  return { source, simulators, rest, instruments, ...(first ? { simulator: first } : {}) };
}

/**
 * The market's configured symbols checked against its exchangeInfo (the simulator serves one
 * too), before any connection opens: a symbol the exchange does not list would only ever be a
 * silent stream. Symbols are upper case already (config), so `btcusdt` is BTCUSDT.
 * An exchange that cannot be asked is not a reason to refuse to start — the source reconnects
 * until it answers — so that is a warning, and the rules stay unknown.
 * @throws TickflowError TF_CONFIG_INVALID naming every unknown symbol.
 */
async function listedSymbols(ctx: RoleContext, m: MarketSource, simulated: boolean): Promise<InstrumentRules[]> {
  const client = new BinanceRestClient({ baseUrl: m.restBaseUrl, market: m.market, attempts: 1, timeoutMs: EXCHANGE_INFO_TIMEOUT_MS });
  let listed: Awaited<ReturnType<BinanceRestClient['exchangeInfo']>>;
  try {
    listed = await client.exchangeInfo();
  } catch (err) {
    ctx.logger.warn({ market: m.market, url: m.restBaseUrl, err: errorMessage(err) }, 'symbols not checked: exchangeInfo did not answer');
    return [];
  }
  const unknown = m.symbols.filter((s) => !listed.has(s));
  if (unknown.length > 0) {
    const where = simulated ? `the simulator's ${m.market} market` : `${m.exchange} ${m.market} (${m.restBaseUrl})`;
    const sample = [...listed.keys()].slice(0, 8).join(', ');
    throw new TickflowError(
      ErrorCodes.CONFIG_INVALID,
      `invalid value for source.symbols: ${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not listed on ${where}; its exchangeInfo lists ${listed.size} symbols (${sample}${listed.size > 8 ? ', …' : ''})`,
    );
  }
  return m.symbols.map((symbol) => {
    const rules = listed.get(symbol) as { tickSize: string; stepSize: string };
    return { exchange: m.exchange, market: m.market, symbol, tickSize: rules.tickSize, stepSize: rules.stepSize };
  });
}

/** A start-up check, not a data path: a slow answer is not worth waiting for. */
const EXCHANGE_INFO_TIMEOUT_MS = 5_000;
