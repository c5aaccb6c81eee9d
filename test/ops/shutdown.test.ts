import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { EventEmitter, once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { HealthRegistry } from '../../src/ops/health.js';
import { FORCED_EXIT_CODE, ShutdownCoordinator, ShutdownOrder } from '../../src/ops/shutdown.js';

function setup(timeoutMs = 10_000) {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger = pino({ level: 'info' }, sink);
  const signals = new EventEmitter();
  const health = new HealthRegistry();
  const exits: number[] = [];
  let exited!: (code: number) => void;
  const exitCode = new Promise<number>((resolve) => (exited = resolve));
  const shutdown = new ShutdownCoordinator({
    health,
    logger,
    timeoutMs,
    signals,
    exit: (code) => {
      exits.push(code);
      exited(code);
    },
  }).listen();
  return { shutdown, signals, health, lines, exits, exitCode };
}

test('first signal marks the process not ready and runs the steps in order, then exits 0', async () => {
  const { shutdown, signals, health, lines, exits, exitCode } = setup();
  const calls: string[] = [];
  const readyDuringSteps: boolean[] = [];
  const step = (name: string) => async () => {
    readyDuringSteps.push((await health.evaluate()).ready);
    calls.push(name);
  };
  shutdown.onShutdown('close database', step('close database'), ShutdownOrder.closeDatabase);
  shutdown.onShutdown('commit offsets', step('commit offsets'), ShutdownOrder.commitOffsets);
  shutdown.onShutdown('stop source', step('stop source'), ShutdownOrder.stopReading);
  shutdown.onShutdown('flush producer', step('flush producer'), ShutdownOrder.flushBuffers);
  shutdown.onShutdown('flush writer', step('flush writer'), ShutdownOrder.flushBuffers);
  const removed = shutdown.onShutdown('closed earlier', step('closed earlier'), ShutdownOrder.stopReading);
  removed();

  signals.emit('SIGTERM', 'SIGTERM');
  assert.equal(await exitCode, 0);
  assert.deepEqual(calls, ['stop source', 'flush producer', 'flush writer', 'commit offsets', 'close database']);
  assert.deepEqual(readyDuringSteps, [false, false, false, false, false]);
  assert.deepEqual(exits, [0]);
  const logged = lines.filter((l) => l.msg === 'shutdown step done').map((l) => l.step);
  assert.deepEqual(logged, calls);
  assert.ok(lines.some((l) => l.msg === 'shutting down' && l.reason === 'received SIGTERM' && l.component === 'shutdown'));
  assert.ok(lines.some((l) => l.msg === 'shutdown complete' && l.exitCode === 0));
  assert.equal(signals.listenerCount('SIGTERM'), 0, 'listeners are removed once done');
});

test('a failing step is logged, later steps still run, and the exit code is 1', async () => {
  const { shutdown, signals, lines, exitCode } = setup();
  const calls: string[] = [];
  shutdown.onShutdown('flush writer', () => Promise.reject(new Error('disk full')), ShutdownOrder.flushBuffers);
  shutdown.onShutdown('close database', () => void calls.push('close database'), ShutdownOrder.closeDatabase);
  signals.emit('SIGINT', 'SIGINT');
  assert.equal(await exitCode, 1);
  assert.deepEqual(calls, ['close database']);
  assert.ok(lines.some((l) => l.msg === 'shutdown step failed' && l.step === 'flush writer' && l.err === 'disk full'));
});

test('a start-up that failed runs every registered step, then exits with the code of its error (2 for configuration)', async () => {
  const { shutdown, lines, exits, exitCode } = setup();
  const calls: string[] = [];
  shutdown.onShutdown('close database', () => void calls.push('close database'), ShutdownOrder.closeDatabase);
  shutdown.onShutdown('flush writer', () => Promise.reject(new Error('nothing to flush')), ShutdownOrder.flushBuffers);
  await shutdown.shutdown('start-up failed', 2);
  assert.equal(await exitCode, 2);
  assert.deepEqual(calls, ['close database']);
  assert.deepEqual(exits, [2], 'the configuration error decides the code even when a cleanup step failed');
  assert.ok(lines.some((l) => l.msg === 'shutdown complete' && l.exitCode === 2));
});

test('a step that hangs past the timeout exits 1 and the log names it', async () => {
  const { shutdown, signals, lines, exits, exitCode } = setup(200);
  const calls: string[] = [];
  shutdown.onShutdown('stop source', () => void calls.push('stop source'), ShutdownOrder.stopReading);
  shutdown.onShutdown('commit offsets', () => new Promise(() => {}), ShutdownOrder.commitOffsets);
  shutdown.onShutdown('close database', () => void calls.push('close database'), ShutdownOrder.closeDatabase);
  signals.emit('SIGTERM', 'SIGTERM');
  assert.equal(await exitCode, 1);
  assert.deepEqual(calls, ['stop source']);
  assert.deepEqual(exits, [1]);
  const hung = lines.find((l) => l.level === 50 && l.step === 'commit offsets');
  assert.ok(hung, 'an error line names the hung step');
  assert.match(String(hung.msg), /step "commit offsets" hung/);
});

test('a second signal exits at once with 130', async () => {
  const { shutdown, signals, lines, exits, exitCode } = setup();
  let flushStarted!: () => void;
  const started = new Promise<void>((r) => (flushStarted = r));
  shutdown.onShutdown(
    'flush producer',
    () => {
      flushStarted();
      return new Promise(() => {});
    },
    ShutdownOrder.flushBuffers,
  );
  signals.emit('SIGTERM', 'SIGTERM');
  await started;
  assert.deepEqual(exits, []);
  signals.emit('SIGINT', 'SIGINT');
  assert.equal(await exitCode, FORCED_EXIT_CODE);
  assert.deepEqual(exits, [130]);
  assert.ok(lines.some((l) => l.msg === 'second signal: exiting now without finishing shutdown' && l.signal === 'SIGINT'));
});

test('shutdown() runs the same sequence once, for runs that end by themselves', async () => {
  const { shutdown, exits } = setup();
  let runs = 0;
  shutdown.onShutdown('close database', () => void runs++, ShutdownOrder.closeDatabase);
  await Promise.all([shutdown.shutdown('replay finished'), shutdown.shutdown('replay finished')]);
  assert.equal(runs, 1);
  assert.deepEqual(exits, [0]);
  assert.equal(shutdown.shuttingDown, true);
});

const child = fileURLToPath(new URL('./fixtures/shutdown-child.ts', import.meta.url));

async function startChild(t: import('node:test').TestContext, mode: string) {
  const proc = spawn(process.execPath, ['--import', 'tsx', child, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => {
    if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  });
  let stderr = '';
  proc.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const [chunk] = (await once(proc.stdout, 'data')) as [Buffer];
  assert.equal(chunk.toString(), 'ready\n');
  const exited = once(proc, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  return { proc, exited, stderr: () => stderr };
}

test('a real process exits 0 after SIGTERM once its steps are done', async (t) => {
  const { proc, exited, stderr } = await startChild(t, 'ok');
  proc.kill('SIGTERM');
  const [code] = await exited;
  assert.equal(code, 0, stderr());
  assert.match(stderr(), /"step":"flush writer".*"msg":"shutdown step done"/);
});

test('a real process stuck in a step exits 130 on the second signal', async (t) => {
  const { proc, exited, stderr } = await startChild(t, 'hang');
  proc.kill('SIGTERM');
  while (!stderr().includes('"step":"flush writer","order":200')) {
    assert.equal(proc.exitCode, null, stderr());
    await new Promise((r) => setTimeout(r, 20));
  }
  proc.kill('SIGINT');
  const [code] = await exited;
  assert.equal(code, 130, stderr());
});
