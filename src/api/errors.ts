import type { ApiErrorBody } from './contract.js';

/**
 * Every error the HTTP API returns has this body, a stable `code` and an HTTP status. The table is
 * also published in /api/openapi.json (components.schemas.Error) and README "HTTP API".
 */
export const ApiErrors = {
  TF_API_BAD_PARAM: { status: 400, meaning: 'A query parameter is missing, malformed or out of range; the message names it and what is allowed.' },
  TF_API_UNAUTHORIZED: { status: 401, meaning: 'api.token is set and the request has no matching `Authorization: Bearer <token>`.' },
  TF_API_UNKNOWN_SYMBOL: { status: 404, meaning: 'The symbol is neither configured nor present in the database.' },
  TF_API_NOT_FOUND: { status: 404, meaning: 'No such route.' },
  TF_API_STORE_UNAVAILABLE: { status: 503, meaning: 'The database did not answer; retry later.' },
  TF_API_INTERNAL: { status: 500, meaning: 'An unexpected error; the server log has the details.' },
} as const;

/** A TF_API_* code of the table above. */
export type ApiErrorCode = keyof typeof ApiErrors;

/**
 * An error the HTTP API answers with: `code` (a TF_API_* key of ApiErrors), the HTTP `status` that
 * code has there, and a message that names the parameter or instrument at fault; `body()` is what
 * the client receives (`{ code, message }`). app.ts maps every other error onto one of these.
 */
export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;

  constructor(code: ApiErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ApiError';
    this.code = code;
    this.status = ApiErrors[code].status;
  }

  body(): ApiErrorBody {
    return { code: this.code, message: this.message };
  }
}
