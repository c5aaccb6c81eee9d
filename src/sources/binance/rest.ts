import { type AggTradeEvent, type Market, type TradeEvent, tradeIdOf } from '../../core/events.js';
import { ErrorCodes, errorMessage, TickflowError } from '../../core/errors.js';
import { retry, type RetryOptions } from '../../core/retry.js';
import { FieldError } from './parse.js';
import { REST_MARKETS, type RestMarketRules } from './rest-markets.js';
import {
  aggTradeFromRest,
  type DepthSnapshot,
  depthSnapshotFromRest,
  klineFromRow,
  type KlineRow,
  symbolRulesFromExchangeInfo,
  type SymbolRules,
  tradeFromRest,
} from './rest-parse.js';
import { WeightBudget, type WeightPriority, type WeightStatus } from './rest-weight.js';

export type { DepthSnapshot, KlineRow, SymbolRules } from './rest-parse.js';
export type { WeightPriority, WeightStatus } from './rest-weight.js';

/** Which Binance REST API a client talks to and how much of its weight budget it may use. */
export interface RestClientOptions {
  /** `https://api.binance.com` (spot) or `https://fapi.binance.com` (USD-M), or the simulator's URL. */
  readonly baseUrl: string;
  readonly market: Market;
  /** REQUEST_WEIGHT per minute (default: the market's published limit). */
  readonly weightLimitPerMinute?: number;
  /** Fraction of the limit used at most in one minute (default 0.8). */
  readonly safeFraction?: number;
  /** Fraction of that budget background work (healing, backfill) may use (default 0.5). */
  readonly backgroundShare?: number;
  /** Per request, ms (default 10 000). */
  readonly timeoutMs?: number;
  /** Attempts per request for retryable failures (default 5). */
  readonly attempts?: number;
  readonly signal?: AbortSignal;
  /** Called for each response: path, HTTP status, weight the exchange reported. */
  readonly onResponse?: (path: string, status: number, usedWeight: number | undefined) => void;
  /** Called before a retryable failure is retried (a 429 without Retry-After waits 60 s: say so). */
  readonly onRetry?: RetryOptions['onRetry'];
}

/** `priority`: live requests (book snapshots) go before background ones (healing, backfill) in the weight budget. */
export interface RequestOptions {
  readonly priority?: WeightPriority;
}

/** A page of records and the weight its request cost. */
export interface Page<T> {
  readonly items: readonly T[];
  readonly weight: number;
}

interface BinanceErrorBody {
  code?: unknown;
  msg?: unknown;
}

/**
 * The one Binance REST client: spot `/api/v3` and USD-M `/fapi/v1` market data, weight-aware
 * (WeightBudget), retrying what can succeed later. Errors (all TickflowError):
 * - TF_REST_RATE_LIMITED (429; canRetry): every request waits the `Retry-After` seconds first.
 * - TF_REST_BANNED (418; canRetry false): the IP is banned; every request waits out `Retry-After`.
 * - TF_REST_REJECTED (other 4xx, a malformed body; canRetry false): Binance's `code`/`msg` in the message.
 * - TF_REST_UNAVAILABLE (5xx, network, timeout; canRetry).
 */
export class BinanceRestClient {
  readonly market: Market;
  readonly rules: RestMarketRules;
  private readonly budget: WeightBudget;
  private readonly baseUrl: string;
  private readonly timeoutMs: number;
  private readonly attempts: number;
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly options: RestClientOptions) {
    this.market = options.market;
    this.rules = REST_MARKETS[options.market];
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.attempts = options.attempts ?? 5;
    this.budget = new WeightBudget({
      limitPerMinute: options.weightLimitPerMinute ?? this.rules.weightLimitPerMinute,
      safeFraction: options.safeFraction ?? 0.8,
      backgroundShare: options.backgroundShare ?? 0.5,
    });
  }

  weight(): WeightStatus {
    return this.budget.status();
  }

  /** GET exchangeInfo: every listed symbol's status, tick size and lot step, by symbol. */
  async exchangeInfo(options: RequestOptions = {}): Promise<Map<string, SymbolRules>> {
    const body = await this.get('/exchangeInfo', {}, this.rules.exchangeInfoWeight, options.priority ?? 'live');
    return this.map(() => symbolRulesFromExchangeInfo(body), '/exchangeInfo');
  }

  /** GET depth (the book's snapshot); `limit` levels per side. */
  async depth(symbol: string, limit = this.rules.snapshotDepth, options: RequestOptions = {}): Promise<DepthSnapshot> {
    const body = await this.get('/depth', { symbol, limit }, this.rules.depthWeight(limit), options.priority ?? 'live');
    return this.map(() => depthSnapshotFromRest(body), '/depth');
  }

  /** One page of GET aggTrades from `fromId` (inclusive). */
  async aggTradesPage(symbol: string, fromId: number, options: RequestOptions = {}): Promise<Page<AggTradeEvent>> {
    const limit = this.rules.aggTradesPage;
    const weight = this.rules.aggTradesWeight;
    const body = await this.get('/aggTrades', { symbol, fromId, limit }, weight, options.priority ?? 'background');
    const at = Date.now() * 1_000;
    return { items: this.list(body, '/aggTrades', (v) => aggTradeFromRest(v, this.market, symbol, at)), weight };
  }

  /** One page of GET aggTrades with startTime..endTime (epoch ms, inclusive, at most 1 h apart). */
  async aggTradesBetweenPage(symbol: string, startTime: number, endTime: number, options: RequestOptions = {}): Promise<Page<AggTradeEvent>> {
    const limit = this.rules.aggTradesPage;
    const weight = this.rules.aggTradesWeight;
    const body = await this.get('/aggTrades', { symbol, startTime, endTime, limit }, weight, options.priority ?? 'background');
    const at = Date.now() * 1_000;
    return { items: this.list(body, '/aggTrades', (v) => aggTradeFromRest(v, this.market, symbol, at)), weight };
  }

  /** One page of GET historicalTrades from `fromId` (inclusive). */
  async tradesPage(symbol: string, fromId: number, options: RequestOptions = {}): Promise<Page<TradeEvent>> {
    const limit = this.rules.historicalTradesPage;
    const weight = this.rules.historicalTradesWeight;
    const body = await this.get('/historicalTrades', { symbol, fromId, limit }, weight, options.priority ?? 'background');
    const at = Date.now() * 1_000;
    return { items: this.list(body, '/historicalTrades', (v) => tradeFromRest(v, this.market, symbol, at)), weight };
  }

  /** One page of GET klines with open time from `startTime` to `endTime` (epoch ms, inclusive). */
  async klinesPage(symbol: string, interval: string, startTime: number, endTime: number, options: RequestOptions = {}): Promise<Page<KlineRow>> {
    const limit = this.rules.klinesPage;
    const weight = this.rules.klinesWeight(limit);
    const body = await this.get('/klines', { symbol, interval, startTime, endTime, limit }, weight, options.priority ?? 'background');
    return { items: this.list(body, '/klines', klineFromRow), weight };
  }

  /**
   * Trades (`trade`) or aggTrades (`aggTrade`) with ids fromId..toId (inclusive), page by page, by
   * id (`fromId` = last id + 1). Ends at toId, or early when the exchange has no more (the ids
   * are no longer kept, or not yet traded): the caller compares what it got with what it asked.
   * Bounded: at most ceil(ids / page) + 1 requests.
   */
  async *idRange(
    kind: 'trade' | 'aggTrade',
    symbol: string,
    fromId: number,
    toId: number,
    options: RequestOptions = {},
  ): AsyncGenerator<Page<TradeEvent | AggTradeEvent>> {
    const pageSize = kind === 'trade' ? this.rules.historicalTradesPage : this.rules.aggTradesPage;
    const maxPages = Math.ceil((toId - fromId + 1) / pageSize) + 1;
    let next = fromId;
    for (let page = 0; page < maxPages && next <= toId; page++) {
      const got = kind === 'trade' ? await this.tradesPage(symbol, next, options) : await this.aggTradesPage(symbol, next, options);
      const inRange = got.items.filter((e) => tradeIdOf(e) >= next && tradeIdOf(e) <= toId);
      const last = got.items[got.items.length - 1];
      yield { items: inRange, weight: got.weight };
      if (last === undefined || tradeIdOf(last) < next) return;
      next = tradeIdOf(last) + 1;
    }
  }

  /**
   * Klines of `interval` with open times in [startTime, endTime] (epoch ms), page by page by time
   * (next startTime = last open time + 1). Bounded by the number of candles in the range.
   */
  async *klineRange(
    symbol: string,
    interval: string,
    startTime: number,
    endTime: number,
    intervalMs: number,
    options: RequestOptions = {},
  ): AsyncGenerator<Page<KlineRow>> {
    const maxPages = Math.ceil((endTime - startTime + 1) / intervalMs / this.rules.klinesPage) + 1;
    let next = startTime;
    for (let page = 0; page < maxPages && next <= endTime; page++) {
      const got = await this.klinesPage(symbol, interval, next, endTime, options);
      yield got;
      const last = got.items[got.items.length - 1];
      if (last === undefined || got.items.length < this.rules.klinesPage) return;
      next = last.openTime + 1;
    }
  }

  /** GET `<prefix><path>` with weight accounting and retries; resolves to the parsed JSON body. */
  async get(path: string, params: Record<string, string | number>, weight: number, priority: WeightPriority): Promise<unknown> {
    const query = new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)]));
    const url = `${this.baseUrl}${this.rules.prefix}${path}?${query}`;
    return retry(
      () =>
        this.serially(async () => {
          await this.budget.acquire(weight, priority, this.options.signal);
          if (this.options.signal?.aborted === true) throw new TickflowError(ErrorCodes.SHUTDOWN, `GET ${path} cancelled: shutting down`);
          return this.once(path, url);
        }),
      { attempts: this.attempts, initialDelayMs: 250, maxDelayMs: 10_000, signal: this.options.signal, onRetry: this.options.onRetry },
    );
  }

  /**
   * One request in flight at a time: requests already on the wire when a 429 comes back would
   * each count as "failing to back off" and earn a 418 ban. Serial requests see the Retry-After
   * pause before the next one leaves.
   */
  private serially<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  private async once(path: string, url: string): Promise<unknown> {
    let res: Response;
    try {
      // Shutdown ends a request in flight too, not only the next one.
      const timeout = AbortSignal.timeout(this.timeoutMs);
      res = await fetch(url, { signal: this.options.signal ? AbortSignal.any([timeout, this.options.signal]) : timeout });
    } catch (err) {
      if (this.options.signal?.aborted === true) throw new TickflowError(ErrorCodes.SHUTDOWN, `GET ${path} cancelled: shutting down`, { cause: err });
      throw new TickflowError(ErrorCodes.REST_UNAVAILABLE, `GET ${path}: ${errorMessage(err)}`, { cause: err, canRetry: true });
    }
    const used = headerInt(res.headers, 'x-mbx-used-weight-1m');
    this.budget.observe(used);
    this.options.onResponse?.(path, res.status, used);
    const text = await res.text().catch(() => '');
    if (res.status === 429 || res.status === 418) {
      const retryAfter = headerInt(res.headers, 'retry-after') ?? 60;
      this.budget.pause(retryAfter);
      const banned = res.status === 418;
      throw new TickflowError(
        banned ? ErrorCodes.REST_BANNED : ErrorCodes.REST_RATE_LIMITED,
        `GET ${path}: HTTP ${res.status} ${binanceMessage(text)}; waiting ${retryAfter} s (Retry-After)`,
        { canRetry: !banned },
      );
    }
    if (res.status >= 500) throw new TickflowError(ErrorCodes.REST_UNAVAILABLE, `GET ${path}: HTTP ${res.status} ${binanceMessage(text)}`, { canRetry: true });
    if (res.status !== 200) throw new TickflowError(ErrorCodes.REST_REJECTED, `GET ${path}: HTTP ${res.status} ${binanceMessage(text)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new TickflowError(ErrorCodes.REST_REJECTED, `GET ${path}: the response is not JSON`, { cause: err });
    }
  }

  private map<T>(fn: () => T, path: string): T {
    try {
      return fn();
    } catch (err) {
      if (err instanceof FieldError) throw new TickflowError(ErrorCodes.REST_REJECTED, `GET ${path}: unexpected response: ${err.message}`, { cause: err });
      throw err;
    }
  }

  private list<T>(body: unknown, path: string, item: (v: unknown) => T): T[] {
    return this.map(() => {
      if (!Array.isArray(body)) throw new FieldError('the response is not an array');
      return body.map(item);
    }, path);
  }
}

function headerInt(headers: Headers, name: string): number | undefined {
  const v = headers.get(name);
  return v !== null && /^\d+$/.test(v) ? Number(v) : undefined;
}

/** `code -1003: Too much request weight used…` from a Binance error body, or the raw text. */
function binanceMessage(text: string): string {
  try {
    const body = JSON.parse(text) as BinanceErrorBody;
    if (typeof body.code === 'number' && typeof body.msg === 'string') return `code ${body.code}: ${body.msg}`;
  } catch {
    // not JSON: show what came
  }
  return text.slice(0, 200);
}
