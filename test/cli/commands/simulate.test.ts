import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseUnits } from '../../../src/core/decimal.js';
import { TestClient } from '../../simulator/client.js';
import { REPO_ROOT } from '../../support/data.js';

const MAIN = join(REPO_ROOT, 'src', 'cli', 'main.ts');
const run = promisify(execFile);

function cli(args: string[]) {
  return run(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: REPO_ROOT });
}

async function baseUrl(child: ChildProcess): Promise<string> {
  let out = '';
  for await (const chunk of child.stdout ?? []) {
    out += String(chunk);
    const m = /REST\s+(http:\/\/[^/\s]+)/.exec(out);
    if (m?.[1]) return m[1];
  }
  throw new Error(`simulate printed no URL: ${out}`);
}

test('tickflow simulate serves a market, takes faults from the command line and stops on SIGTERM', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'simulate', '--listen-port', '0', '--symbols', 'SOLUSDT', '--trades-per-second', '50'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  const rest = await baseUrl(child);
  const ws = rest.replace('http://', 'ws://');
  const client = await TestClient.open(t, `${ws}/ws/solusdt@trade`);
  await client.waitForFrames(5);

  const fault = await cli(['simulate', 'fault', 'skipIds', '--json', '{"symbol":"SOLUSDT","stream":"trade","n":3}', '--url', rest]);
  assert.deepEqual(JSON.parse(fault.stdout), { ok: true, result: null });
  await client.waitForFrames(client.frames.length + 20);
  const ids = (client.json() as { t: number }[]).map((m) => m.t);
  const holes = ids.filter((id, i) => i > 0 && id !== (ids[i - 1] ?? 0) + 1);
  assert.equal(holes.length, 1);

  await cli(['simulate', 'fault', 'whale', '--json', '{"symbol":"SOLUSDT","notional":250000}', '--url', rest]);
  await client.waitFor<{ p: string; q: string }>((m) => parseUnits(m.p, 8) * parseUnits(m.q, 8) >= 250_000n * 10n ** 16n, 'the whale trade');

  const emitted = JSON.parse((await cli(['simulate', 'emitted', '--url', rest])).stdout) as Record<string, { ranges: unknown[] }>;
  assert.equal(emitted['solusdt@trade']?.ranges.length, 2);
  await assert.rejects(cli(['simulate', 'fault', 'nope', '--url', rest]), /HTTP 400/);

  child.kill('SIGTERM');
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0);
});
