/**
 * The dashboard's only way to the server: same-origin fetches and the event stream. With
 * api.token set, open the page once as `/?token=<token>`: the token is kept for this tab
 * (sessionStorage) and removed from the address bar.
 */

const TOKEN_KEY = 'tickflow.token';

function takeToken(): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl !== null) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    history.replaceState(null, '', url.toString());
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

const token = takeToken();

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export async function getJson<T>(path: string, params: Record<string, string | number | undefined> = {}): Promise<T> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
  const qs = query.toString();
  const res = await fetch(qs ? `${path}?${qs}` : path, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: 'no-store',
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new ApiRequestError(res.status, body.code ?? 'HTTP', body.message ?? res.statusText);
  }
  return (await res.json()) as T;
}

export function streamUrl(market: MarketId, symbols: readonly string[]): string {
  const query = new URLSearchParams({ exchange: market.exchange, market: market.market, symbols: symbols.join(',') });
  if (token) query.set('access_token', token);
  return `/api/stream?${query.toString()}`;
}

/** An exchange's market segment (`binance` `usdm`): what the market switcher chooses. */
export interface MarketId {
  exchange: string;
  market: string;
}

/** One instrument from /api/symbols. */
export interface SymbolInfo extends MarketId {
  symbol: string;
  configured: boolean;
  hasData: boolean;
  /** exchangeInfo PRICE_FILTER tickSize and LOT_SIZE stepSize, when the source read them. */
  tickSize?: string;
  stepSize?: string;
}

export interface CandleRow {
  /** Open time, epoch ms. */
  time: number;
  open: string;
  high: string;
  low: string;
  close: string;
  volume: string;
  vwap: string | null;
  final: boolean;
  averages: Record<string, string | null>;
}

export interface TradeRow {
  kind: string;
  id: number;
  price: string;
  quantity: string;
  time: number;
  buyerIsMaker: boolean;
  whale: boolean;
}

/** The fields of /api/metrics/trades the pressure bar reads. */
export interface TradeMetricRow {
  time: number;
  interval: string;
  buyVolume: string;
  sellVolume: string;
}

export interface SpreadRow {
  time: number;
  avgSpreadBps: number;
}

export interface GapRow {
  stream: 'trade' | 'aggTrade' | 'depth';
  firstMissingId: number;
  lastMissingId: number;
  time: number;
  reason: string;
  /** healed, partial, failed; null while healing has not finished (and for depth gaps). */
  healStatus: string | null;
}
