import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { configSchema } from '../../src/config/schema.js';
import { silentLogger } from '../../src/ops/logger.js';
import { openDatabase } from '../../src/store/open.js';
import { freshDatabase } from '../support/postgres.js';
import { freePort } from './fixtures.js';

const logger = silentLogger();

test('store.url picks the embedded database or a server, migrated either way', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'tickflow-open-'));
  const embedded = await openDatabase(configSchema.parse({ store: { url: 'embedded', dataDir: dir, embeddedPort: 0 } }).store, { logger });
  // Closed before its folder goes: after-hooks run in registration order (ENOTEMPTY otherwise).
  t.after(async () => {
    await embedded.close();
    await rm(dir, { recursive: true, force: true });
  });
  const server = await openDatabase(configSchema.parse({ store: { url: await freshDatabase(t) } }).store, { logger });
  t.after(() => server.close());
  assert.equal(embedded.kind, 'embedded');
  assert.equal(server.kind, 'postgres');
  for (const db of [embedded, server]) {
    const rows = await db.query<{ version: number }>('SELECT version FROM schema_migrations ORDER BY version');
    assert.equal(rows[0]?.version, 1);
  }
});

test('an unreachable server is a retryable store error', async () => {
  const url = `postgres://postgres:secret@127.0.0.1:${await freePort()}/postgres`;
  await assert.rejects(openDatabase(configSchema.parse({ store: { url } }).store, { logger }), (err: Error & { code?: string; canRetry?: boolean }) => {
    assert.equal(err.code, 'TF_STORE_UNAVAILABLE');
    assert.equal(err.canRetry, true);
    assert.doesNotMatch(err.message, /secret/);
    return true;
  });
});
