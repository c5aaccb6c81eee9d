import { z } from 'zod';

/** The longest delay Node.js's setTimeout keeps (2^31 − 1 ms, 24.8 days); a longer one fires at once. */
export const MAX_TIMER_MS = 2_147_483_647;

const timerMessage = { message: `expected at most ${MAX_TIMER_MS} ms (24.8 days, the longest timer Node.js can set: a longer one fires at once)` };

/** A config duration that runs as a timer (timeouts, intervals, backoffs): whole ms, 0 to MAX_TIMER_MS. */
export const timerMsOrZero = z.number().int().nonnegative().max(MAX_TIMER_MS, timerMessage);

/** As timerMsOrZero, but at least 1 ms. */
export const timerMs = timerMsOrZero.positive();
