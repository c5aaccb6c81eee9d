import { ErrorCodes, TickflowError } from '../core/errors.js';
import { type Simulator, simulatorOptionsFrom, startSimulator } from '../simulator/index.js';
import { type MarketSource, marketSources } from '../sources/markets.js';
import { MultiSource } from '../sources/multi.js';
import { exchanges } from '../sources/registry.js';
import { ReplaySource } from '../sources/replay/source.js';
import type { Source } from '../sources/source.js';
import type { RestEndpoint } from '../history/rest-endpoint.js';
import type { LastStoredId } from '../store/resume.js';
import type { RoleContext } from './context.js';

export interface StartedSource {
  readonly source: Source;
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
    };
  }
  const simulators: Record<string, Simulator> = {};
  const parts: { label: string; source: Source }[] = [];
  const rest: RestEndpoint[] = [];
  for (const m of markets) {
    const exchange = exchanges[m.exchange];
    if (!exchange || !exchange.markets.includes(m.market)) {
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
    rest.push({ market: m.market, restBaseUrl: resolved.restBaseUrl, ...(kind === 'sim' ? { weightLimitPerMinute: config.simulator.weightLimitPerMinute } : {}) });
    const resumeFrom = options.resumeFrom ? await options.resumeFrom(m) : undefined;
    parts.push({ label, source: exchange.create(resolved, config.source, { logger, metrics }, { label, simulated: kind === 'sim', ...(resumeFrom ? { resumeFrom } : {}) }) });
  }
  const source = parts.length === 1 && parts[0] ? parts[0].source : new MultiSource(parts);
  const first = Object.values(simulators)[0];
  return { source, simulators, rest, ...(first ? { simulator: first } : {}) };
}
