import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configKeys, envName, loadConfig, SERVICE_VARIABLES } from '../../src/config/load.js';
import { TickflowError } from '../../src/core/errors.js';
import { spawnTickflow } from '../support/cli.js';
import { REPO_ROOT } from '../support/data.js';
import { tempDir } from '../support/pipeline.js';

test('defaults follow the seed design', () => {
  const c = loadConfig({ env: {} });
  assert.equal(c.store.batchRows, 500);
  assert.equal(c.store.batchMs, 2000);
  assert.equal(c.bus.partitions, 3);
  assert.equal(c.bus.retentionMs, 7 * 24 * 3600 * 1000);
  assert.ok(Object.isFrozen(c.store));
});

test('precedence: file < environment < overrides', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-cfg-'));
  const file = join(dir, 'c.yaml');
  writeFileSync(file, 'store:\n  batchRows: 10\n  batchMs: 11\nsource:\n  symbols: [solusdt]\n');
  const c = loadConfig({ file, env: { TICKFLOW_STORE_BATCH_MS: '22' }, overrides: { 'store.batchRows': '33' } });
  assert.equal(c.store.batchRows, 33);
  assert.equal(c.store.batchMs, 22);
  assert.deepEqual(c.source.symbols, ['SOLUSDT']);
});

test('environment names are derived from key paths', () => {
  assert.equal(envName('store.batchRows'), 'TICKFLOW_STORE_BATCH_ROWS');
  assert.equal(envName('source.backoff.maxMs'), 'TICKFLOW_SOURCE_BACKOFF_MAX_MS');
  const c = loadConfig({ env: { TICKFLOW_SOURCE_BACKOFF_MAX_MS: '5000', TICKFLOW_SOURCE_SYMBOLS: 'btcusdt, ethbtc' } });
  assert.equal(c.source.backoff.maxMs, 5000);
  assert.deepEqual(c.source.symbols, ['BTCUSDT', 'ETHBTC']);
});

test('an unknown key names the key, the value and near keys', () => {
  assert.throws(
    () => loadConfig({ env: {}, overrides: { 'store.batchRowz': '3' } }),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'TF_CONFIG_UNKNOWN_KEY');
      assert.match(err.message, /store\.batchRowz/);
      assert.match(err.message, /store\.batchRows/);
      return true;
    },
  );
  assert.throws(() => loadConfig({ env: { TICKFLOW_NOPE: '1' } }), /unknown environment variable TICKFLOW_NOPE="1"/);
});

test('a bad value names the key, the value and what is allowed', () => {
  assert.throws(() => loadConfig({ env: {}, overrides: { 'bus.kind': 'rabbit' } }), /bus\.kind: "rabbit" — one of "memory", "kafka"/);
  assert.throws(() => loadConfig({ env: {}, overrides: { 'store.batchRows': '-1' } }), /store\.batchRows: -1/);
  assert.throws(() => loadConfig({ env: {}, overrides: { 'api.host': '0.0.0.0' } }), /api\.token/);
});

test('sinks: none by default; a JSON list from the environment; strict entries with defaults; unique names', () => {
  assert.deepEqual(loadConfig({ env: {} }).sinks, []);
  const c = loadConfig({ env: { TICKFLOW_SINKS: '[{"kind":"kinesis","streamName":"ticks","endpoint":"http://127.0.0.1:4567"}]' } });
  assert.equal(c.sinks.length, 1);
  assert.equal(c.sinks[0]?.streamName, 'ticks');
  assert.equal(c.sinks[0]?.maxBatchRecords, 500);
  assert.equal(c.sinks[0]?.codec, 'avro');
  assert.throws(() => loadConfig({ env: {}, overrides: { sinks: [{ kind: 'kinesis', streamNmae: 'x' }] } }), /streamNmae/);
  assert.throws(() => loadConfig({ env: {}, overrides: { sinks: [{ kind: 'kinesis', maxBatchRecords: 501 }] } }), /sinks\.0\.maxBatchRecords/);
  assert.throws(() => loadConfig({ env: {}, overrides: { sinks: [{ kind: 'kinesis' }, { kind: 'kinesis' }] } }), /sink name kinesis is used twice/);
  assert.throws(() => loadConfig({ env: {}, overrides: { sinks: [{ kind: 'kafka' }] } }), /sinks\.0\.kind/);
});

test('secrets from files: TICKFLOW_<KEY>_FILE and file: references, one trailing newline dropped', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-cfg-'));
  const password = join(dir, 'kafka-password');
  const token = join(dir, 'api-token');
  const url = join(dir, 'db-url');
  writeFileSync(password, 'scram-Pass word\n');
  writeFileSync(token, 'tok-0123456789');
  writeFileSync(url, 'postgres://tickflow:db-Secret@db.internal:5432/market?sslmode=verify-full\n');
  const file = join(dir, 'c.yaml');
  writeFileSync(file, `api:\n  token: file:${token}\n`);
  const c = loadConfig({
    file,
    env: {
      TICKFLOW_BUS_SASL_MECHANISM: 'SCRAM-SHA-256',
      TICKFLOW_BUS_SASL_USERNAME: 'tickflow',
      TICKFLOW_BUS_SASL_PASSWORD_FILE: password,
      TICKFLOW_STORE_URL_FILE: url,
    },
  });
  assert.equal(c.bus.sasl.password, 'scram-Pass word');
  assert.equal(c.api.token, 'tok-0123456789');
  assert.equal(c.store.url, 'postgres://tickflow:db-Secret@db.internal:5432/market?sslmode=verify-full');
  const viaFlag = loadConfig({ env: {}, overrides: { 'store.url': `file:${url}` } });
  assert.equal(viaFlag.store.url, c.store.url);
});

test('a secret file that cannot be used is a config error naming the key and the file, never its contents', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tf-cfg-'));
  const empty = join(dir, 'empty');
  writeFileSync(empty, '\n');
  const kinds: [Record<string, string>, RegExp][] = [
    [{ TICKFLOW_BUS_SASL_PASSWORD_FILE: join(dir, 'missing') }, /bus\.sasl\.password from .*missing \(TICKFLOW_BUS_SASL_PASSWORD_FILE\): ENOENT/],
    [{ TICKFLOW_API_TOKEN: `file:${dir}` }, /api\.token from .* \(a file: reference\): EISDIR/],
    [{ TICKFLOW_API_TOKEN_FILE: empty }, /api\.token .* the file is empty/],
    [{ TICKFLOW_API_TOKEN: 'x-inline-secret', TICKFLOW_API_TOKEN_FILE: empty }, /both TICKFLOW_API_TOKEN and TICKFLOW_API_TOKEN_FILE/],
  ];
  for (const [env, message] of kinds) {
    assert.throws(
      () => loadConfig({ env }),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TF_CONFIG_INVALID');
        assert.match(err.message, message);
        assert.doesNotMatch(err.message, /x-inline-secret/);
        return true;
      },
    );
  }
});

test('SASL and TLS settings: a mechanism needs credentials, a client certificate needs its key', () => {
  assert.throws(
    () => loadConfig({ env: { TICKFLOW_BUS_SASL_MECHANISM: 'SCRAM-SHA-512', TICKFLOW_BUS_SASL_USERNAME: 'u' } }),
    /bus\.sasl\.mechanism: "SCRAM-SHA-512" needs bus\.sasl\.username and bus\.sasl\.password/,
  );
  assert.throws(() => loadConfig({ env: { TICKFLOW_BUS_SASL_MECHANISM: 'GSSAPI' } }), /bus\.sasl\.mechanism: "GSSAPI" — one of "none", "PLAIN"/);
  assert.throws(() => loadConfig({ env: { TICKFLOW_BUS_TLS_CERT: '/c.pem' } }), /bus\.tls\.cert \/ bus\.tls\.key/);
  assert.throws(() => loadConfig({ env: { TICKFLOW_STORE_TLS_KEY: '/k.pem' } }), /store\.tls\.cert \/ store\.tls\.key/);
  const c = loadConfig({ env: { TICKFLOW_BUS_TLS_ENABLED: 'on', TICKFLOW_BUS_TLS_CA: '/ca.pem' } });
  assert.equal(c.bus.tls.enabled, true);
  assert.equal(c.bus.sasl.mechanism, 'none');
});

/** Every `TICKFLOW_*` name (with its value when shown as NAME=value) in the user-facing docs. */
function documentedVariables(): Map<string, string> {
  const files = [
    'README.md',
    'src/api/README.md',
    'deploy/docker-compose.yml',
    ...readdirSync(join(REPO_ROOT, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
  const found = new Map<string, string>();
  for (const f of files) {
    for (const m of readFileSync(join(REPO_ROOT, f), 'utf8').matchAll(/\b(TICKFLOW_[A-Z0-9_]*[A-Z0-9])(?:=([^\s`'"|)]+))?/g)) {
      if (m[2] !== undefined || !found.has(m[1]!)) found.set(m[1]!, m[2] ?? 'x');
    }
  }
  return found;
}

test('issue 17 item 4 (env namespaces): the service scripts’ and compose variables are not settings, and the list is theirs', () => {
  const scripts = readdirSync(join(REPO_ROOT, 'scripts', 'services')).filter((f) => f.endsWith('.sh'));
  const read = new Set(
    scripts.flatMap((f) => [...readFileSync(join(REPO_ROOT, 'scripts', 'services', f), 'utf8').matchAll(/\bTICKFLOW_[A-Z0-9_]+/g)].map((m) => m[0])),
  );
  const settings = new Set([...configKeys().keys()].map(envName));
  const compose = readFileSync(join(REPO_ROOT, 'deploy', 'docker-compose.yml'), 'utf8');
  for (const m of compose.matchAll(/\$\{(TICKFLOW_[A-Z0-9_]+)/g)) if (!settings.has(m[1]!)) read.add(m[1]!);
  // Variables compose sets inside a container that is not tickflow (Grafana's data source and contact point).
  for (const m of compose.matchAll(/^\s+(TICKFLOW_[A-Z0-9_]+):/gm)) if (!settings.has(m[1]!)) read.add(m[1]!);
  assert.deepEqual([...SERVICE_VARIABLES].sort(), [...read].sort(), 'SERVICE_VARIABLES lists exactly what the scripts and compose read');
  for (const name of read) assert.ok(!settings.has(name), `${name} is not also a setting`);
  // All of them set at once: the configuration loads, and none of them leaks into it.
  const env = Object.fromEntries([...SERVICE_VARIABLES].map((n) => [n, '19092']));
  assert.deepEqual(loadConfig({ env }), loadConfig({ env: {} }));
  // Anything else with the prefix is still a typo to refuse.
  assert.throws(() => loadConfig({ env: { ...env, TICKFLOW_KAFKA_BROKERS: 'h:1' } }), /unknown environment variable TICKFLOW_KAFKA_BROKERS/);
});

test('issue 17 item 4 (env namespaces): with every variable the docs show exported, a role runs', async (t) => {
  const settings = new Set([...configKeys().keys()].map(envName));
  const exported: Record<string, string> = {};
  for (const [name, value] of documentedVariables()) {
    if (name === 'TICKFLOW_CONFIG' || settings.has(name) || (name.endsWith('_FILE') && settings.has(name.slice(0, -5)))) continue;
    assert.ok(SERVICE_VARIABLES.has(name), `${name} (shown in the docs) is neither a setting nor a service variable`);
    exported[name] = value;
  }
  assert.ok('TICKFLOW_KAFKA_DIR' in exported && 'TICKFLOW_KAFKA_CONTROLLER_PORT' in exported, JSON.stringify(exported));
  // A one-trade recording: `tickflow run` replays it, stores it and exits by itself.
  const dir = tempDir();
  const recording = join(dir, 'one-trade.txt');
  const trade = { e: 'trade', E: 1723161254087, s: 'BTCUSDT', t: 3723184751, p: '61005.99000000', q: '0.00200000', T: 1723161254086, m: true, M: true };
  writeFileSync(recording, `1723161255360000000 ${JSON.stringify({ stream: 'btcusdt@trade', data: trade })}\n`);
  const run = spawnTickflow(
    ['run', '--source', `replay:${recording}`, '--data-dir', join(dir, 'data'), '--port', '0', '--set', 'store.embeddedPort=0'],
    exported,
  );
  t.after(() => run.child.kill('SIGKILL'));
  assert.equal(await run.exited, 0, run.stderr().slice(-2000));
  assert.doesNotMatch(run.stderr(), /TF_CONFIG/);
  assert.match(run.stderr(), /source finished/);
});

test('a mistyped environment variable gets the suggestion a mistyped --set key gets (section left out, wrong or misspelt)', () => {
  const cases: readonly [name: string, meant: string][] = [
    ['TICKFLOW_LOG_LEVEL', 'TICKFLOW_OPS_LOG_LEVEL'],
    ['TICKFLOW_BATCH_ROWS', 'TICKFLOW_STORE_BATCH_ROWS'],
    ['TICKFLOW_KAFKA_BROKERS', 'TICKFLOW_BUS_BROKERS'],
    ['TICKFLOW_STORE_BATCH_ROWZ', 'TICKFLOW_STORE_BATCH_ROWS'],
    ['TICKFLOW_API_PROT', 'TICKFLOW_API_PORT'],
  ];
  for (const [name, meant] of cases) {
    assert.throws(
      () => loadConfig({ env: { [name]: 'debug' } }),
      (err: unknown) => err instanceof TickflowError && err.code === 'TF_CONFIG_UNKNOWN_KEY' && err.message.includes(`did you mean ${meant}`),
      name,
    );
  }
  assert.throws(() => loadConfig({ overrides: { 'ops.loglevel': 'debug' }, env: {} }), /did you mean ops\.logLevel\?/);
  assert.throws(() => loadConfig({ overrides: { logLevel: 'debug' }, env: {} }), /did you mean ops\.logLevel\?/);
  // Nothing near: no guess, only the rule.
  assert.throws(
    () => loadConfig({ env: { TICKFLOW_NOPE: '1' } }),
    (err: unknown) => err instanceof Error && !/did you mean/.test(err.message),
  );
  // A typo of a secret's name does not print the secret.
  assert.throws(
    () => loadConfig({ env: { TICKFLOW_API_TOKN: 'Tok-3318-xyz' } }),
    (err: unknown) => err instanceof Error && !err.message.includes('Tok-3318-xyz') && /TICKFLOW_API_TOKEN/.test(err.message),
  );
});

test('a refused secret is never echoed: an invalid secret value or a malformed URL with credentials is masked in the error', () => {
  const cases: Array<[string, string, string]> = [
    ['store.embeddedPassword', 'hunter2', 'hunter2'],
    ['store.url', 'mysql://u:SeCrEt99@h/db', 'SeCrEt99'],
  ];
  for (const [key, value, secret] of cases) {
    assert.throws(
      () => loadConfig({ env: {}, overrides: { [key]: value } }),
      (e: unknown) => {
        assert.ok(e instanceof TickflowError, String(e));
        assert.equal(e.code, 'TF_CONFIG_INVALID');
        assert.match(e.message, new RegExp(key.replace('.', '\\.')));
        assert.ok(!e.message.includes(secret), `${key}: ${e.message}`);
        return true;
      },
    );
  }
});

test('book: a resync backoff whose max is below its min is refused, naming the key', () => {
  assert.throws(
    () => loadConfig({ env: { TICKFLOW_BOOK_RESYNC_MIN_MS: '5000', TICKFLOW_BOOK_RESYNC_MAX_MS: '100' } }),
    /invalid value for book\.resyncMaxMs: 100 — expected at least book\.resyncMinMs/,
  );
  assert.equal(loadConfig({ env: { TICKFLOW_BOOK_DEPTH: '50' } }).book.depth, 50);
  assert.throws(() => loadConfig({ env: { TICKFLOW_BOOK_DEPTH: '0' } }), /book\.depth/);
});

test('book.restLimit: a USD-M market takes only the depth limits /fapi/v1/depth accepts; spot any of 5..5000', () => {
  for (const [env, ok] of [
    [{ TICKFLOW_SOURCE_MARKET: 'usdm', TICKFLOW_BOOK_REST_LIMIT: '2000' }, false],
    [{ TICKFLOW_SOURCE_MARKET: 'usdm', TICKFLOW_BOOK_REST_LIMIT: '250' }, false],
    [{ TICKFLOW_SOURCE_MARKETS: 'spot,usdm', TICKFLOW_BOOK_REST_LIMIT: '5000' }, false],
    [{ TICKFLOW_SOURCE_MARKET: 'usdm', TICKFLOW_BOOK_REST_LIMIT: '500' }, true],
    [{ TICKFLOW_SOURCE_MARKETS: 'spot,usdm', TICKFLOW_BOOK_REST_LIMIT: '1000' }, true],
    [{ TICKFLOW_SOURCE_MARKET: 'spot', TICKFLOW_BOOK_REST_LIMIT: '2000' }, true],
    // No book, no snapshot to ask for.
    [{ TICKFLOW_SOURCE_MARKET: 'usdm', TICKFLOW_BOOK_REST_LIMIT: '2000', TICKFLOW_BOOK_ENABLED: 'false' }, true],
  ] as const) {
    if (ok) assert.equal(loadConfig({ env }).book.restLimit, Number(env.TICKFLOW_BOOK_REST_LIMIT), JSON.stringify(env));
    else
      assert.throws(
        () => loadConfig({ env }),
        /book\.restLimit.*usdm depth snapshots accept a limit of 5, 10, 20, 50, 100, 500, 1000 only/,
        JSON.stringify(env),
      );
  }
});

test('a timer past 2^31 − 1 ms (setTimeout fires it at once), a topic name Kafka refuses and one topic for two kinds are refused, naming the key', () => {
  // ops.shutdownTimeoutMs=9999999999 ended every shutdown after 4 ms ("did not finish within 9999999999 ms"), skipping the store's flush.
  for (const [env, message] of [
    [{ TICKFLOW_OPS_SHUTDOWN_TIMEOUT_MS: '9999999999' }, /ops\.shutdownTimeoutMs: 9999999999 — expected at most 2147483647 ms/],
    [{ TICKFLOW_SOURCE_STALL_TIMEOUT_MS: '2147483648' }, /source\.stallTimeoutMs: 2147483648 — expected at most 2147483647 ms/],
    [{ TICKFLOW_BUS_LINGER_MS: '1e10' }, /bus\.lingerMs: 10000000000 — expected at most/],
    [{ TICKFLOW_SINKS: '[{"kind":"kinesis","requestTimeoutMs":9999999999}]' }, /sinks\.0\.requestTimeoutMs: 9999999999 — expected at most 2147483647 ms/],
    [{ TICKFLOW_BUS_TOPICS_TRADES: 'a b' }, /bus\.topics\.trades: "a b" — expected a Kafka topic name/],
    [{ TICKFLOW_BUS_TOPICS_TRADES: 't'.repeat(250) }, /bus\.topics\.trades: "t{250}" — expected a Kafka topic name/],
    [{ TICKFLOW_BUS_TOPICS_DEPTH: 'binance.trades' }, /bus\.topics: .*bus\.topics\.trades and bus\.topics\.depth are both "binance\.trades"/],
  ] as const) {
    assert.throws(
      () => loadConfig({ env }),
      (err: unknown) => err instanceof TickflowError && message.test(err.message),
      JSON.stringify(env).slice(0, 80),
    );
  }
  const longest = loadConfig({ env: { TICKFLOW_SOURCE_STALL_TIMEOUT_MS: '2147483647', TICKFLOW_BUS_TOPICS_TRADES: `x.${'t'.repeat(247)}` } });
  assert.deepEqual([longest.source.stallTimeoutMs, longest.bus.topics.trades.length], [2_147_483_647, 249]);
});

test('an empty api.token (TICKFLOW_API_TOKEN= or --set api.token=) is refused, not a token no request can present', () => {
  for (const input of [{ env: { TICKFLOW_API_TOKEN: '' } }, { env: {}, overrides: { 'api.token': '' } }]) {
    assert.throws(
      () => loadConfig(input),
      (err: Error & { code?: string }) => {
        assert.equal(err.code, 'TF_CONFIG_INVALID');
        assert.match(err.message, /api\.token.*non-empty token/);
        return true;
      },
    );
  }
  assert.equal(loadConfig({ env: { TICKFLOW_API_TOKEN: 't0ken' } }).api.token, 't0ken');
});
