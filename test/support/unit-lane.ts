/**
 * The unit lane's guard (`npm run test:unit`, scripts/test-unit.sh preloads it with --import).
 * A unit test needs no service: no Kafka, PostgreSQL (Debian or embedded), Chromium, Prometheus,
 * promtool, nor a tickflow or simulator process. Every one of those is a child process, so inside
 * a test file's process every way of starting one throws a clear error instead: a test that needs a
 * service but is not listed in test/service-tests.txt fails loudly in the unit lane, and never
 * quietly slows it down. esbuild is let through — it is the TypeScript and dashboard build itself.
 */
import { createRequire, syncBuiltinESMExports } from 'node:module';

const require = createRequire(import.meta.url);
const childProcess = require('node:child_process') as Record<string, unknown>;
const STARTERS = ['spawn', 'spawnSync', 'exec', 'execSync', 'execFile', 'execFileSync', 'fork'] as const;

/** The error a misfiled test gets: what it tried to start, and where to list it. */
function refusal(what: string): Error {
  return new Error(
    `the unit lane runs only tests that need no service or child process, and this test started ${what}: ` +
      'list its file in test/service-tests.txt (it still runs in npm test), or keep the service out of it',
  );
}

// The runner's own process starts one child per test file; only those children are guarded.
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  for (const name of STARTERS) {
    const original = childProcess[name] as (command: string, ...rest: unknown[]) => unknown;
    childProcess[name] = function guarded(this: unknown, command: string, ...rest: unknown[]) {
      if (/esbuild/.test(String(command))) return original.call(this, command, ...rest);
      const args = Array.isArray(rest[0]) ? ` ${(rest[0] as unknown[]).join(' ')}` : '';
      throw refusal(`"${`${command}${args}`.slice(0, 200)}" (child_process.${name})`);
    };
  }
  // `import { spawn } from 'node:child_process'` binds to the ESM view of the module: refresh it.
  syncBuiltinESMExports();
}
