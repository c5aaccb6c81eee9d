import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what survived its last full collection, in percent
 * (V8's `--heap-growing-percent`). Left to itself V8 picks up to 300 % when its collector is fast
 * next to the program, so a process whose records outlive a young-generation collection (the store
 * role holds a batch while PostgreSQL writes it) piles up dead records in the old generation up to
 * four times what is live: 282 MiB of heap for ~70 MiB live in a backlog drain (bench/store-role.ts,
 * docs/benchmarks.md "Store Kafka → PostgreSQL").
 */
export const HEAP_GROWING_PERCENT = 50;

const FLAG = '--heap-growing-percent';

/**
 * Sets HEAP_GROWING_PERCENT for this process unless its command line names the flag already
 * (`node --heap-growing-percent=… tickflow …`; NODE_OPTIONS does not accept it), which then wins.
 * V8 reads the flag at every full collection, so setting it after start-up takes effect from the
 * next one. Returns the percent set, or undefined when the user's own setting is left alone.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv): number | undefined {
  if (execArgv.some((a) => a.startsWith(FLAG))) return undefined;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return HEAP_GROWING_PERCENT;
}
