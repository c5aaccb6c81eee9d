import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../../src/ops/logger.js';

function capture() {
  // biome-ignore lint/suspicious/noExplicitAny: parsed JSON log lines, asserted on at any depth (err.stack, config.store.url)
  const lines: Record<string, any>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n')) if (line) lines.push(JSON.parse(line));
      done();
    },
  });
  const logger = createLogger({ level: 'info', format: 'json', base: { role: 'store' }, destination });
  return { logger, lines };
}

test('child loggers add the component field; base fields are on every line', () => {
  const { logger, lines } = capture();
  logger.child({ component: 'writer' }).info({ table: 'trades', rows: 500 }, 'batch written');
  assert.equal(lines.length, 1);
  assert.equal(lines[0]!.component, 'writer');
  assert.equal(lines[0]!.role, 'store');
  assert.equal(lines[0]!.pid, process.pid);
  assert.equal(lines[0]!.msg, 'batch written');
  assert.equal(lines[0]!.level, 30);
});

test('tokens and passwords are removed, URLs keep their host', () => {
  const { logger, lines } = capture();
  logger.info(
    {
      config: { api: { token: 'tok-123' }, store: { url: 'postgres://tf:pw-456@db:5432/market' }, bus: { brokers: ['kafka:9092'] } },
      url: 'postgres://tf:pw-789@db/market',
      password: 'pw-000',
      sink: { token: 'tok-456', url: 'https://u:pw-111@hooks.example.com/x' },
    },
    'starting with %s',
    'postgres://tf:pw-222@db/market',
  );
  const text = JSON.stringify(lines);
  for (const secret of ['tok-123', 'tok-456', 'pw-456', 'pw-789', 'pw-000', 'pw-111', 'pw-222']) {
    assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
  }
  const line = lines[0]!;
  assert.equal(line.config.store.url, 'postgres://tf:***@db:5432/market');
  assert.deepEqual(line.config.bus.brokers, ['kafka:9092']);
  assert.equal(line.url, 'postgres://tf:***@db/market');
  assert.equal(line.sink.url, 'https://u:***@hooks.example.com/x');
  assert.equal(line.config.api.token, '[redacted]');
  assert.equal(line.msg, 'starting with postgres://tf:***@db/market');
});

test('errors keep message and stack but lose credentials', () => {
  const { logger, lines } = capture();
  logger.error({ err: new Error('cannot connect to postgres://tf:pw-333@db/market') }, 'store unavailable');
  logger.warn({ err: 'retrying postgres://tf:pw-444@db/market' }, 'retry');
  assert.equal(lines[0]!.err.message, 'cannot connect to postgres://tf:***@db/market');
  assert.equal(lines[0]!.err.type, 'Error');
  assert.match(lines[0]!.err.stack, /^Error: cannot connect to postgres:\/\/tf:\*\*\*@db\/market\n/);
  assert.equal(lines[1]!.err, 'retrying postgres://tf:***@db/market');
});

/** Logs one line from a child process (stderr is a pipe there, not a terminal) in the given format. */
function logFromChild(format: string): string {
  const script = `const { createLogger } = await import(${JSON.stringify(new URL('../../src/ops/logger.ts', import.meta.url).href)});
    createLogger({ level: 'info', format: '${format}' }).child({ component: 'writer' }).info({ url: 'postgres://a:pw-555@h/db' }, 'hello');`;
  const out = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(out.status, 0, out.stderr);
  assert.equal(out.stdout, '', 'logs never go to stdout');
  return out.stderr;
}

test('pretty format prints readable lines; auto without a terminal prints JSON', () => {
  const pretty = logFromChild('pretty');
  assert.match(pretty, /INFO.*hello/);
  assert.match(pretty, /component: "writer"/);
  assert.match(pretty, /postgres:\/\/a:\*\*\*@h\/db/);
  const auto = JSON.parse(logFromChild('auto').trim());
  assert.equal(auto.msg, 'hello');
  assert.equal(auto.component, 'writer');
  assert.equal(auto.url, 'postgres://a:***@h/db');
});
