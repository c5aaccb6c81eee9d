import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `condition` until it holds. The limit only turns a hang into a failure with a name; the
 * tests never assert how long anything took.
 */
export async function waitFor(condition: () => boolean | Promise<boolean>, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}
