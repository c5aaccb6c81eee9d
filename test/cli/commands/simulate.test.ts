import assert from 'node:assert/strict';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { parseUnits } from '../../../src/core/decimal.js';
import { FAULT_SPECS } from '../../../src/simulator/faults.js';
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

/** The CLI's exit code and output, whatever the exit code. */
async function cliResult(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await cli(args);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('tickflow simulate fault: each fault documents its flags and defaults, runs on its defaults, refusals are TF_SIMULATOR_REFUSED; emitted is indented on a terminal', async (t) => {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'simulate', '--listen-port', '0', '--symbols', 'BTCUSDT', '--trades-per-second', '20'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(() => child.kill('SIGKILL'));
  const rest = await baseUrl(child);

  const help = (await cli(['simulate', 'fault', '--help'])).stdout;
  for (const [name, spec] of Object.entries(FAULT_SPECS)) {
    assert.match(help, new RegExp(`^  ${name} `, 'm'), name);
    for (const p of spec.params) {
      const flag = `--${p.key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
      assert.ok(help.includes(`${flag} <${p.value}> (default ${p.default})`), `${name}: ${flag} and its default in the help`);
    }
  }

  // The default body {} is every default: no fault needs a parameter.
  for (const name of ['duplicate', 'malformed', 'reorder', 'whale', 'skipIds', 'burst', 'dropConnections']) {
    const r = await cliResult(['simulate', 'fault', name, '--url', rest]);
    assert.equal(r.code, 0, `${name}: ${r.stderr}`);
    assert.equal(JSON.parse(r.stdout).ok, true, name);
  }
  // Flags per fault; one the fault does not take is a usage error naming those it does.
  assert.equal((await cliResult(['simulate', 'fault', 'whale', '--symbol', 'btcusdt', '--notional', '300000', '--url', rest])).code, 0);
  const wrongFlag = await cliResult(['simulate', 'fault', 'stall', '--n', '3', '--url', rest]);
  assert.equal(wrongFlag.code, 2);
  assert.match(wrongFlag.stderr, /tickflow: TF_CONFIG_INVALID: --n: fault stall takes --ms/);

  // What the simulator refuses is its refusal, with its reason — not a configuration error.
  const unknown = await cliResult(['simulate', 'fault', 'nope', '--url', rest]);
  assert.equal(unknown.code, 1);
  assert.match(
    unknown.stderr,
    /tickflow: TF_SIMULATOR_REFUSED: the simulator at .* refused \/sim\/faults\/nope \(HTTP 400\): unknown fault "nope"; expected one of dropConnections, stall/,
  );
  const notTraded = await cliResult(['simulate', 'fault', 'whale', '--symbol', 'DOGEUSDT', '--url', rest]);
  assert.equal(notTraded.code, 1);
  assert.match(notTraded.stderr, /TF_SIMULATOR_REFUSED: .*does not trade DOGEUSDT/);
  assert.doesNotMatch(unknown.stderr + notTraded.stderr, /TF_CONFIG_INVALID|^\s+at /m);

  // Piped: one JSON line for scripts. On a terminal (script(1) gives it one): indented.
  const client = await TestClient.open(t, `${rest.replace('http://', 'ws://')}/ws/btcusdt@trade`);
  await client.waitForFrames(3);
  const piped = (await cli(['simulate', 'emitted', '--url', rest])).stdout;
  assert.equal(piped.trim().split('\n').length, 1);
  const command = [process.execPath, '--import', 'tsx', MAIN, 'simulate', 'emitted', '--url', rest].map((a) => `'${a}'`).join(' ');
  const onTerminal = (await run('script', ['-qec', command, '/dev/null'], { cwd: REPO_ROOT })).stdout.replace(/\r/g, '');
  assert.ok(onTerminal.trim().split('\n').length > 3, onTerminal);
  assert.match(onTerminal, /^\{\n {2}"btcusdt@trade": \{/);
  assert.deepEqual(Object.keys(JSON.parse(onTerminal)), Object.keys(JSON.parse(piped)));
});
