/**
 * The dashboard's only way to the server: same-origin fetches and the event stream. With
 * api.token set, open the page once as `/?token=<token>`: the token is kept for this tab
 * (sessionStorage) and removed from the address bar. Response bodies are typed by the server's
 * contract (src/api/contract.ts), imported as types only, so the bundle carries no zod.
 */
import type { ApiErrorBody, ApiPath, ApiResponses, MarketId } from '../../api/contract.js';

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

/** A non-2xx answer: the HTTP status and the API's error `code` (`TF_API_*`, or `HTTP` when the body had none). */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorBody['code'] | 'HTTP',
    message: string,
  ) {
    super(message);
  }
}

/**
 * GET `path` with `params` as the query (undefined ones left out), the token as a bearer header.
 * Resolves with the body the contract gives that path; rejects with ApiRequestError on a non-2xx
 * answer, and with fetch's TypeError when the server cannot be reached.
 */
export async function getJson<P extends ApiPath>(path: P, params: Record<string, string | number | undefined> = {}): Promise<ApiResponses[P]> {
  const query = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) query.set(k, String(v));
  const qs = query.toString();
  const res = await fetch(qs ? `${path}?${qs}` : path, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: 'no-store',
  });
  if (!res.ok) {
    // A proxy in front may answer with a page of its own: no code then.
    const body = (await res.json().catch(() => ({}))) as Partial<ApiErrorBody>;
    throw new ApiRequestError(res.status, body.code ?? 'HTTP', body.message ?? res.statusText);
  }
  return (await res.json()) as ApiResponses[P];
}

/** The /api/stream URL for `symbols` of one market; the token goes in the query (EventSource sends no headers). */
export function streamUrl(market: MarketId, symbols: readonly string[]): string {
  const query = new URLSearchParams({ exchange: market.exchange, market: market.market, symbols: symbols.join(',') });
  if (token) query.set('access_token', token);
  return `/api/stream?${query.toString()}`;
}
