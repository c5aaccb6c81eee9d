import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { type TestContext, test } from 'node:test';
import { exitedWithin, spawnTickflow } from '../../support/cli.js';
import { tempDir } from '../../support/pipeline.js';

const STACK = /^\s+at /m;
/** A start-up that stops on its own must do so well within this (a hang fails the test instead). */
const EXIT_WITHIN_MS = 120_000;

/** Holds a port on 127.0.0.1 for the test, as another program would. */
async function occupyPort(t: TestContext): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as { port: number }).port;
}

/** A port free right now (bound and released), for a server the test expects tickflow to close. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function canListen(port: number): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

test('tickflow run --port 99999 is a configuration error (exit 2) before anything is opened', async () => {
  const dataDir = join(tempDir(), 'data');
  const cli = spawnTickflow(['run', '--source', 'sim', '--port', '99999', '--data-dir', dataDir]);
  assert.equal(await exitedWithin(cli, EXIT_WITHIN_MS), 2);
  assert.match(cli.stderr(), /tickflow: TF_CONFIG_INVALID: invalid value for api\.port: 99999/);
  assert.doesNotMatch(cli.stderr(), STACK);
  assert.equal(existsSync(dataDir), false, 'the data dir was not created');
});

test('a busy API port stops tickflow run with exit 2 naming api.port; nothing it opened keeps running', async (t) => {
  const busy = await occupyPort(t);
  const embedded = await freePort();
  const cli = spawnTickflow([
    'run',
    '--source',
    'sim',
    '--port',
    String(busy),
    '--data-dir',
    join(tempDir(), 'data'),
    '--set',
    `store.embeddedPort=${embedded}`,
  ]);
  assert.equal(await exitedWithin(cli, EXIT_WITHIN_MS), 2, cli.stderr().slice(-3000));
  const stderr = cli.stderr();
  assert.match(
    stderr,
    new RegExp(`tickflow: TF_CONFIG_INVALID: the HTTP API and dashboard cannot listen on 127\\.0\\.0\\.1:${busy}: the port is already in use`),
  );
  assert.match(stderr, /Set api\.port to a free port \(--set api\.port=<port> or TICKFLOW_API_PORT=<port>/);
  assert.doesNotMatch(stderr, STACK);
  // The shutdown steps ran: the database closed its port, and no event was ever received.
  assert.match(stderr, /"msg":"shutdown complete"/);
  assert.doesNotMatch(stderr, /exchange simulator started/);
  assert.equal(await canListen(embedded), true, `the embedded database's port ${embedded} was released`);
});

test('a busy embedded database port stops tickflow run with exit 2 naming store.embeddedPort, not TF_STORE_WRITE', async (t) => {
  const busy = await occupyPort(t);
  const cli = spawnTickflow(['run', '--source', 'sim', '--port', '0', '--data-dir', join(tempDir(), 'data'), '--set', `store.embeddedPort=${busy}`]);
  assert.equal(await exitedWithin(cli, EXIT_WITHIN_MS), 2, cli.stderr().slice(-3000));
  const stderr = cli.stderr();
  assert.match(stderr, /^tickflow: TF_CONFIG_INVALID: .*store\.embeddedPort/m);
  assert.doesNotMatch(stderr, /TF_STORE_WRITE/);
  assert.doesNotMatch(stderr, STACK);
});

test('tickflow run --symbols btcusdt,FOO: symbols are checked against exchangeInfo at start; the unknown one is named (exit 2), case does not matter', async () => {
  const cli = spawnTickflow([
    'run',
    '--source',
    'sim',
    '--symbols',
    'btcusdt,FOO',
    '--port',
    '0',
    '--data-dir',
    join(tempDir(), 'data'),
    '--set',
    'store.embeddedPort=0',
  ]);
  assert.equal(await exitedWithin(cli, EXIT_WITHIN_MS), 2, cli.stderr().slice(-3000));
  const stderr = cli.stderr();
  // btcusdt is BTCUSDT, which the simulator lists; FOO is the only one named.
  assert.match(
    stderr,
    /tickflow: TF_CONFIG_INVALID: invalid value for source\.symbols: FOO is not listed on the simulator's spot market; its exchangeInfo lists 1 symbols \(BTCUSDT\)/,
  );
  assert.doesNotMatch(stderr, STACK);
  assert.match(stderr, /"msg":"shutdown complete"/);
});
