import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawnTickflow } from '../../support/cli.js';
import { REPO_ROOT } from '../../support/data.js';

/** A stack trace line: what a user must never see for a mistake of theirs. */
const STACK = /^\s+at /m;

test('tickflow config --set key without "=" is a coded configuration error with exit 2, not a stack trace', async () => {
  const cli = spawnTickflow(['config', '--set', 'store.batchRows']);
  assert.equal(await cli.exited, 2);
  assert.match(
    cli.stderr(),
    /^tickflow: TF_CONFIG_INVALID: --set expects key=value, got "store\.batchRows": give the value too, e\.g\. --set store\.batchRows=<value>/m,
  );
  assert.doesNotMatch(cli.stderr(), STACK);
  const empty = spawnTickflow(['config', '--set', '=5']);
  assert.equal(await empty.exited, 2);
  assert.match(empty.stderr(), /TF_CONFIG_INVALID: --set expects key=value, got "=5"/);
});

test('a usage error (unknown option or command, missing argument) exits 2 like a bad key; --help and --version exit 0', async () => {
  const usage: readonly [args: string[], message: RegExp][] = [
    [['config', '--bogus'], /unknown option '--bogus'/],
    [['nope'], /unknown command 'nope'/],
    [['import'], /missing required argument 'paths'/],
    [['backfill', '--symbols', 'BTCUSDT', '--to', '2024-01-02'], /required option '--from <time>' not specified/],
  ];
  for (const [args, message] of usage) {
    const cli = spawnTickflow(args);
    assert.equal(await cli.exited, 2, `${args.join(' ')}: ${cli.stderr()}`);
    assert.match(cli.stderr(), message, args.join(' '));
    assert.doesNotMatch(cli.stderr(), STACK);
  }
  for (const args of [['--version'], ['config', '--help']]) assert.equal(await spawnTickflow(args).exited, 0, args.join(' '));
});

test('a REST, WebSocket or AWS endpoint URL of another scheme (ftp:, file:) is refused at start, naming the key', async () => {
  const cases: readonly [set: string, key: RegExp][] = [
    ['source.restBaseUrl=ftp://example.com', /source\.restBaseUrl: "ftp:\/\/example\.com" — expected a http:\/\/ or https:\/\/ URL/],
    ['source.wsBaseUrl=https://example.com', /source\.wsBaseUrl: .* expected a ws:\/\/ or wss:\/\/ URL/],
    ['heal.replayRestBaseUrl=file:///etc/passwd', /heal\.replayRestBaseUrl: .* expected a http:\/\/ or https:\/\/ URL/],
    ['sinks=[{"kind":"kinesis","endpoint":"file:///tmp/x"}]', /sinks\.0\.endpoint: .* expected a http:\/\/ or https:\/\/ URL/],
  ];
  for (const [set, key] of cases) {
    const cli = spawnTickflow(['config', '--set', set]);
    assert.equal(await cli.exited, 2, `${set}: ${cli.stderr()}`);
    assert.match(cli.stderr(), key, set);
  }
});

test('a port out of range is a configuration error (exit 2) naming the key, for every port key and its flag', async () => {
  const cases: readonly [args: string[], key: RegExp][] = [
    [['--port', '99999'], /api\.port: 99999/],
    [['--port', '-1'], /api\.port: -1/],
    [['--port', '80.5'], /api\.port: 80\.5/],
    [['--health-port', '65536'], /ops\.healthPort: "65536"/],
    [['--set', 'store.embeddedPort=70000'], /store\.embeddedPort: 70000/],
    [['--set', 'simulator.port=65536'], /simulator\.port: 65536/],
    [['--brokers', '127.0.0.1:99999'], /bus\.brokers\.0: "127\.0\.0\.1:99999"/],
  ];
  for (const [args, key] of cases) {
    const cli = spawnTickflow(['config', ...args]);
    assert.equal(await cli.exited, 2, `${args.join(' ')}: ${cli.stderr()}`);
    assert.match(cli.stderr(), /^tickflow: TF_CONFIG_INVALID: invalid value for /m, args.join(' '));
    assert.match(cli.stderr(), key, args.join(' '));
    assert.doesNotMatch(cli.stderr(), STACK);
  }
});

test('EPIPE: tickflow config --keys into a pipe the reader closed (| head) exits 0 quietly', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'config', '--keys'], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Closed before tickflow has loaded, so every line it writes meets a closed pipe, as with `| head -0`.
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('tickflow config prints the resolved configuration with the API token and database password as ***', async () => {
  const cli = spawnTickflow(['config', '--db', 'postgres://tickflow:Db-Pass-4417@db.internal:5432/market?sslmode=require'], {
    TICKFLOW_API_TOKEN: 'Api-Token-8812',
  });
  assert.equal(await cli.exited, 0, cli.stderr());
  const out = cli.stdout();
  assert.ok(!out.includes('Api-Token-8812') && !out.includes('Db-Pass-4417'), out);
  const shown = JSON.parse(out) as { api: { token: string }; store: { url: string } };
  assert.equal(shown.api.token, '***');
  assert.equal(shown.store.url, 'postgres://tickflow:***@db.internal:5432/market?sslmode=require');
});

test('a mistyped environment variable (TICKFLOW_LOG_LEVEL) stops tickflow with exit 2 and the variable it probably meant', async () => {
  const cli = spawnTickflow(['config'], { TICKFLOW_LOG_LEVEL: 'debug' });
  assert.equal(await cli.exited, 2);
  assert.match(
    cli.stderr(),
    /^tickflow: TF_CONFIG_UNKNOWN_KEY: unknown environment variable TICKFLOW_LOG_LEVEL="debug"; did you mean TICKFLOW_OPS_LOG_LEVEL\?/m,
  );
  assert.doesNotMatch(cli.stderr(), STACK);
});
