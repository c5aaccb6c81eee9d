import { setTimeout as sleep } from 'node:timers/promises';

/** How `waitFor` decides that a wait has failed. Durations in ms. */
export interface WaitOptions {
  /**
   * A measure of the awaited work itself — rows stored, frames the client read, ids the store
   * committed — compared as JSON between polls. Never a measure that advances whether or not the
   * awaited thing comes closer (the simulator's emitted trades, the wall clock): with it the wait
   * could only end at `maxMs`. With `progress` the wait fails when the measure stayed the same for
   * `limitMs`; a busy machine makes work slow, not still.
   */
  readonly progress?: () => unknown;
  /** With `progress`: how long the measure may stand still (default 60 000). Without: the whole wait (default 20 000). */
  readonly limitMs?: number;
  /**
   * With `progress`: the wait in all (default 480 000, under the suite's 10-minute test timeout so
   * the failure names the wait). A measure that keeps advancing while `done` never holds fails here.
   */
  readonly maxMs?: number;
  /** Poll period (default 50). */
  readonly everyMs?: number;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * The tests' one way to wait: polls `probe` until it returns a truthy value and resolves with it
 * (`true` for a plain condition, the thing found for a search). `options` as a number is `limitMs`.
 * The limits turn a hang into a failure that names `what` and the last progress; no test asserts
 * how long anything took. Errors `probe` or `progress` throw end the wait with that error.
 */
export async function waitFor<T>(what: string, probe: () => T | Promise<T>, options: WaitOptions | number = {}): Promise<Truthy<T>> {
  const {
    progress,
    limitMs = progress === undefined ? 20_000 : 60_000,
    maxMs = 480_000,
    everyMs = 50,
  } = typeof options === 'number' ? { limitMs: options } : options;
  const started = Date.now();
  let seen = progress === undefined ? undefined : JSON.stringify(await progress());
  let lastProgress = started;
  for (;;) {
    const found = await probe();
    if (found) return found as Truthy<T>;
    const now = Date.now();
    if (progress === undefined) {
      if (now - started > limitMs) throw new Error(`timed out after ${limitMs} ms waiting for ${what}`);
    } else {
      const current = JSON.stringify(await progress());
      if (current !== seen) {
        seen = current;
        lastProgress = now;
      } else if (now - lastProgress > limitMs) {
        throw new Error(`waiting for ${what}: nothing advanced for ${limitMs} ms (progress ${current})`);
      }
      if (now - started > maxMs) throw new Error(`waiting for ${what}: still not there after ${maxMs} ms though progress moved (now ${current})`);
    }
    await sleep(everyMs);
  }
}
