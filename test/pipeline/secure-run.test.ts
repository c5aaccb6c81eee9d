import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/ops/logger.js';
import { openDatabase } from '../../src/store/open.js';
import { spawnTickflow } from '../support/cli.js';
import { REPO_ROOT } from '../support/data.js';
import { privateBroker } from '../support/kafka.js';
import { tlsPostgres } from '../support/postgres.js';
import { assertNoSecrets, secretFile, TEST_SECRETS } from '../support/secrets.js';
import { waitFor } from '../support/wait.js';

const USER = 'tickflow-e2e';

test('tickflow run --bus kafka over SASL_SSL/SCRAM-SHA-512 into PostgreSQL with sslmode=verify-full, every secret from a file and in no output', async (t) => {
  const [broker, pg] = await Promise.all([
    privateBroker(t, { user: USER, passwordFile: secretFile('kafka-password', TEST_SECRETS.kafkaPassword) }),
    tlsPostgres(t, TEST_SECRETS.postgresPassword, secretFile('pg-password', TEST_SECRETS.postgresPassword)),
  ]);
  const url = pg.url({ sslmode: 'verify-full' });
  const tls = { ca: join(pg.tlsDir, 'ca.pem'), cert: join(pg.tlsDir, 'client.pem'), key: join(pg.tlsDir, 'client.key') };
  // The way a container gets them: mounted files, named by *_FILE variables or file: references.
  const env = {
    TICKFLOW_BUS_KIND: 'kafka',
    TICKFLOW_BUS_BROKERS: broker.secureBrokers.join(','),
    TICKFLOW_BUS_SASL_MECHANISM: 'SCRAM-SHA-512',
    TICKFLOW_BUS_SASL_USERNAME: USER,
    TICKFLOW_BUS_SASL_PASSWORD_FILE: secretFile('kafka-password', TEST_SECRETS.kafkaPassword),
    TICKFLOW_BUS_TLS_ENABLED: 'true',
    TICKFLOW_BUS_TLS_CA: broker.caFile,
    TICKFLOW_BUS_TLS_CERT: broker.clientCert,
    TICKFLOW_BUS_TLS_KEY: broker.clientKey,
    TICKFLOW_BUS_AUTO_OFFSET_RESET: 'earliest',
    TICKFLOW_STORE_URL_FILE: secretFile('database-url', url),
    TICKFLOW_STORE_TLS_CA: tls.ca,
    TICKFLOW_STORE_TLS_CERT: tls.cert,
    TICKFLOW_STORE_TLS_KEY: tls.key,
    TICKFLOW_STORE_BATCH_MS: '200',
    TICKFLOW_API_TOKEN: `file:${secretFile('api-token', TEST_SECRETS.apiToken)}`,
  };

  const run = spawnTickflow(['run', '--source', 'sim', '--port', '0', '--set', 'simulator.tradesPerSecond=50'], env);
  t.after(() => run.child.kill('SIGKILL'));
  const api = (JSON.parse(await run.waitForLog(/dashboard and API listening/, 120_000)) as { url: string }).url;

  // Ingest → Kafka (SASL_SSL) → store writer → PostgreSQL (verify-full): read it back over TLS too.
  const db = await openDatabase(configSchema.parse({ store: { url, tls } }).store, { logger: silentLogger(), skipMigrations: true });
  t.after(() => db.close());
  const stored = async () => (await db.query<{ n: number }>('SELECT count(*)::int AS n FROM trades'))[0]?.n ?? 0;
  await waitFor('trades stored through Kafka', async () => (await stored()) > 0, 60_000);
  const first = await stored();
  await waitFor('more trades stored', async () => (await stored()) > first, { progress: stored });

  const auth = { headers: { authorization: `Bearer ${TEST_SECRETS.apiToken}` } };
  const health = await (await fetch(`${api}/health`)).text();
  const pipeline = await fetch(`${api}/api/pipeline`, auth);
  assert.equal(pipeline.status, 200);
  const report = await pipeline.text();
  assert.match(health, /"bus":\{"state":"up"/);
  assert.match(report, /"kind":"kafka"/);
  assertNoSecrets(health, '/health');
  assertNoSecrets(report, '/api/pipeline');

  const shown = await promisify(execFile)(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'src', 'cli', 'main.ts'), 'config'], {
    cwd: REPO_ROOT,
    env: { ...process.env, ...env },
  });
  assertNoSecrets(shown.stdout + shown.stderr, 'tickflow config');
  assert.match(shown.stdout, /"password": "\*\*\*"/);
  assert.match(shown.stdout, new RegExp(`postgres://postgres:\\*\\*\\*@127\\.0\\.0\\.1:${pg.port}/postgres\\?sslmode=verify-full`));

  run.child.kill('SIGTERM');
  assert.equal(await run.exited, 0, run.stderr().slice(-3000));
  assert.match(run.stderr(), /"tls":true,"sasl":"SCRAM-SHA-512".*"msg":"Kafka bus ready"/);
  assertNoSecrets(run.stderr() + run.stdout(), 'the logs of tickflow run');
});
