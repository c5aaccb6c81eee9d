import { ErrorCodes, TickflowError } from '../core/errors.js';

/**
 * Epoch ms from a command-line time: `1723161600000` or ISO-8601 (`2024-08-09T00:00Z`).
 * @throws TickflowError TF_CONFIG_INVALID naming the flag.
 */
export function timeFlag(value: unknown, flag: string): number {
  const text = String(value);
  const ms = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (!Number.isFinite(ms)) throw new TickflowError(ErrorCodes.CONFIG_INVALID, `${flag}: expected epoch ms or an ISO-8601 time, got "${text}"`);
  return ms;
}
