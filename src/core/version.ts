import { readFileSync } from 'node:fs';

/**
 * tickflow's version, read from package.json: one place to bump. The file sits two levels above
 * this module both in a checkout (src/core) and in the published package (dist/core).
 */
export const VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
