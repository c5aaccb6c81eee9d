import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { configSchema, type Config } from '../../src/config/schema.js';
import { silentLogger } from '../../src/ops/logger.js';
import { registerSecret } from '../../src/ops/redact.js';
import { openDatabase } from '../../src/store/open.js';
import { postgresConnection } from '../../src/store/tls.js';
import { REPO_ROOT } from '../support/data.js';
import { tlsPostgres, type TlsPostgres } from '../support/postgres.js';
import { secretFile, TEST_SECRETS } from '../support/secrets.js';

// A private cluster that speaks only TLS over TCP (ssl = on, hostssl with a client certificate and
// a password), started by scripts/services/postgres.sh; the shared cluster is left alone.
const PASSWORD = TEST_SECRETS.postgresPassword;
registerSecret(PASSWORD);
let server: TlsPostgres;
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  server = await tlsPostgres({ after: (fn) => void cleanups.push(fn) }, PASSWORD, secretFile('pg-password', PASSWORD));
});
after(async () => {
  for (const fn of cleanups) await fn();
});

function store(url: string, tls: Partial<Config['store']['tls']> = {}): Config['store'] {
  const dir = server.tlsDir;
  return configSchema.parse({ store: { url, tls: { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key'), ...tls } } }).store;
}

type Rejection = Error & { code?: string; canRetry?: boolean };

test('sslmode=verify-full: the store migrates and queries over TLS, the certificate checked against the CA and the host name', async (t) => {
  const db = await openDatabase(store(server.url({ sslmode: 'verify-full' })), { logger: silentLogger() });
  t.after(() => db.close());
  const [row] = await db.query<{ ssl: boolean }>('SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
  assert.equal(row?.ssl, true);
  const [migrated] = await db.query<{ version: number }>('SELECT max(version)::int AS version FROM schema_migrations');
  assert.ok((migrated?.version ?? 0) >= 1);
});

test('verify-full refuses a host name the certificate does not carry; verify-ca, which checks the CA only, accepts it', async (t) => {
  // The server certificate is for 127.0.0.1 only; "localhost" reaches the same server.
  await assert.rejects(openDatabase(store(server.url({ host: 'localhost', sslmode: 'verify-full' })), { logger: silentLogger() }), (err: Rejection) => {
    assert.equal(err.code, 'TF_STORE_TLS');
    assert.equal(err.canRetry, false);
    assert.match(err.message, /not for this host name: put a host name the certificate carries in store\.url, or use sslmode=verify-ca/);
    return true;
  });
  const db = await openDatabase(store(server.url({ host: 'localhost', sslmode: 'verify-ca' })), { logger: silentLogger(), skipMigrations: true });
  t.after(() => db.close());
  assert.equal((await db.query<{ one: number }>('SELECT 1 AS one'))[0]?.one, 1);
});

test('a server certificate from another CA is refused with TF_STORE_TLS naming store.tls.ca', async () => {
  const other = mkdtempSync(join(tmpdir(), 'tickflow-other-ca-'));
  execFileSync('bash', [join(REPO_ROOT, 'scripts', 'tls.sh'), other]);
  for (const mode of ['verify-full', 'verify-ca', 'require']) {
    // require with a CA verifies the chain, as libpq does when a root certificate is given.
    await assert.rejects(openDatabase(store(server.url({ sslmode: mode }), { ca: join(other, 'ca.pem') }), { logger: silentLogger() }), (err: Rejection) => {
      assert.equal(err.code, 'TF_STORE_TLS', mode);
      assert.match(err.message, /not signed by a trusted CA \(SELF_SIGNED_CERT_IN_CHAIN\): set store\.tls\.ca/);
      return true;
    });
  }
});

test('refusals by the server: no TLS, no client certificate, a wrong password — each a clear TF_STORE_AUTH, the password never quoted', async () => {
  const cases: [Config['store'], RegExp][] = [
    [store(server.url({ sslmode: 'disable' }), { ca: '', cert: '', key: '' }), /no encryption.*add \?sslmode=verify-full/],
    [store(server.url({ sslmode: 'verify-full' }), { cert: '', key: '' }), /requires a valid client certificate.*store\.tls\.cert/],
    [
      store(server.url({ sslmode: 'verify-full', password: 'tf-test-wrong-password' })),
      /password authentication failed.*check the user and password in store\.url/,
    ],
  ];
  for (const [settings, message] of cases) {
    await assert.rejects(openDatabase(settings, { logger: silentLogger() }), (err: Rejection) => {
      assert.equal(err.code, 'TF_STORE_AUTH');
      assert.equal(err.canRetry, false);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, new RegExp(`${PASSWORD}|tf-test-wrong-password`));
      return true;
    });
  }
});

test('sslmode: libpq names in the URL are honoured, store.tls wins, and modes that fall back to plaintext are refused', () => {
  const url = 'postgres://u:p@db.example:5432/market?sslmode=verify-ca&sslrootcert=/nonexistent/root.crt&application_name=x';
  assert.throws(() => postgresConnection(url, { ca: '', cert: '', key: '' }), {
    code: 'TF_CONFIG_INVALID',
    message: /cannot read sslrootcert in store\.url \(\/nonexistent\/root\.crt\): ENOENT/,
  });
  const ca = join(server.tlsDir, 'ca.pem');
  const conn = postgresConnection(url, { ca, cert: '', key: '' });
  assert.equal(
    conn.connectionString,
    'postgres://u:p@db.example:5432/market?application_name=x',
    'ssl* parameters are applied by tickflow, not by node-postgres',
  );
  assert.equal(conn.sslmode, 'verify-ca');
  assert.ok(conn.ssl && conn.ssl.rejectUnauthorized === true && conn.ssl.checkServerIdentity !== undefined);
  const plain = postgresConnection('postgres://u@h/db', { ca: '', cert: '', key: '' });
  assert.deepEqual([plain.sslmode, plain.ssl], ['disable', false]);
  const require = postgresConnection('postgres://u@h/db?sslmode=require', { ca: '', cert: '', key: '' });
  assert.ok(require.ssl && require.ssl.rejectUnauthorized === false, 'require without a CA encrypts without verifying, as in libpq');
  for (const mode of ['prefer', 'allow', 'verify']) {
    assert.throws(() => postgresConnection(`postgres://u@h/db?sslmode=${mode}`, { ca: '', cert: '', key: '' }), {
      code: 'TF_CONFIG_INVALID',
      message: new RegExp(`sslmode=${mode} — one of disable, require, verify-ca, verify-full`),
    });
  }
  assert.throws(
    () => postgresConnection('postgres://u@h/db', { ca, cert: '', key: '' }),
    /store\.tls\.ca or store\.tls\.cert is set but store\.url has no sslmode/,
  );
});
