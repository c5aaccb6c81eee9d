import { performance } from 'node:perf_hooks';

// performance.timeOrigin + now() gives sub-millisecond wall time; Date.now() alone is ms only.
const origin = performance.timeOrigin;

/** Wall-clock epoch microseconds, for `ingestionTimestamp`. */
export function epochMicros(): number {
  return Math.round((origin + performance.now()) * 1000);
}

/** Monotonic milliseconds, for timers and batching (immune to wall-clock jumps). */
export function monotonicMs(): number {
  return performance.now();
}
