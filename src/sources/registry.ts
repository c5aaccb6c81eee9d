import type { Config } from '../config/schema.js';
import type { Market, MarketEvent, TimeUnit } from '../core/events.js';
import type { Logger } from '../ops/logger.js';
import type { Metrics } from '../ops/metrics.js';
import { BinanceSource } from './binance/index.js';
import { isPayloadType, recordFromPayload } from './binance/parse.js';
import type { MarketSource } from './markets.js';
import type { Source } from './source.js';
import type { LastStoredId } from '../store/resume.js';

/** What an exchange's source factory logs and measures with. */
export interface ExchangeDeps {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/** What an exchange's source factory is told: the connection label, whether the peer is the simulator, where to resume. */
export interface ExchangeSourceOptions {
  readonly label: string;
  readonly simulated: boolean;
  /** The last ids stored for this market: what a restart missed is reported as a gap. */
  readonly resumeFrom?: readonly LastStoredId[];
}

/** What one exchange folder under `sources/` provides (docs/extending.md "Add an exchange"). */
export interface ExchangeEntry {
  /** The market names its parser stamps on events (`Instrument.market`). */
  readonly markets: readonly Market[];
  /**
   * The live source of one market. `wsBaseUrl` is already resolved (configured, defaulted or the
   * simulator's); `label` prefixes connection ids so that several markets' connections stay apart;
   * `simulated` says the URL is tickflow's own simulator (for error messages).
   */
  create(market: MarketSource, config: Config['source'], deps: ExchangeDeps, options: ExchangeSourceOptions): Source;
  /**
   * The record of `type` that the exchange's own JSON payload `data` carries (the bytes its source
   * forwarded, core/payloads.ts), checked as the source checks it; the Kafka codec decodes schema-2
   * records with it. Throws, saying why, when `data` is not such a payload.
   */
  fromPayload(type: string, data: unknown, market: string, ingestionTimestamp: number, timeUnit: TimeUnit): MarketEvent;
}

/** The exchange registry: an event's `exchange` is one of these keys. */
export const exchanges: Readonly<Record<string, ExchangeEntry>> = {
  binance: {
    markets: ['spot', 'usdm'],
    create: (m, config, deps, options) =>
      new BinanceSource({ ...config, market: m.market, symbols: [...m.symbols] }, deps, { wsBaseUrl: m.wsBaseUrl, ...options }),
    fromPayload: (type, data, market, ingestionTimestamp, timeUnit) => {
      if (!isPayloadType(type)) throw new Error(`no Binance stream payload carries ${JSON.stringify(type)} records`);
      if (market !== 'spot' && market !== 'usdm') throw new Error(`Binance has no market ${JSON.stringify(market)}`);
      return recordFromPayload(type, data, market, ingestionTimestamp, timeUnit);
    },
  },
};
