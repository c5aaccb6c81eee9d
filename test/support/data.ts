import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestContext } from 'node:test';

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Real Binance data lives beside the repository (../shared/data); it is never copied in. */
export const SHARED_DATA = resolve(REPO_ROOT, '..', 'shared', 'data');

/**
 * Path of a shared data file. Under CI a missing file fails the test; elsewhere the test is
 * skipped with a message naming the folder it wanted.
 */
export function sharedData(t: TestContext, ...parts: string[]): string | undefined {
  const path = join(SHARED_DATA, ...parts);
  if (existsSync(path)) return path;
  if (process.env.CI === 'true') throw new Error(`missing real-data fixture ${path} (expected ../shared/data beside the repo)`);
  t.skip(`needs ${path}`);
  return undefined;
}
