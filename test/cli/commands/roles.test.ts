import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitedWithin, spawnTickflow } from '../../support/cli.js';
import { tempDir } from '../../support/pipeline.js';

test('a role that needs Kafka says so and exits 2 before it opens anything (no data dir, no port)', async () => {
  for (const role of ['ingest', 'store', 'process', 'serve']) {
    const dataDir = join(tempDir(), 'data');
    // --set reaches keys whether or not the role has a flag for them.
    const cli = spawnTickflow([role, '--set', `store.dataDir=${dataDir}`, '--health-port', '0', '--set', 'source.kind=sim']);
    const code = await exitedWithin(cli, 120_000);
    assert.equal(code, 2, `${role}: ${cli.stderr().slice(-2000)}`);
    assert.match(
      cli.stderr(),
      new RegExp(
        `^tickflow: TF_CONFIG_INVALID: invalid value for bus\\.kind: "memory" — tickflow ${role} exchanges data with the other roles over Kafka: use --bus kafka`,
        'm',
      ),
    );
    assert.doesNotMatch(cli.stderr(), /^\s+at /m);
    assert.doesNotMatch(cli.stderr(), /database ready|exchange simulator started|listening/, `${role} opened something first`);
    assert.equal(existsSync(dataDir), false, `${role} created its data dir`);
  }
});

test('each role --help lists only the flags that act on it (store, process and serve have no --source, --ws-url or --speed)', async () => {
  const flags = async (role: string): Promise<Set<string>> => {
    const cli = spawnTickflow([role, '--help']);
    assert.equal(await exitedWithin(cli, 120_000), 0);
    return new Set(cli.stdout().match(/--[a-z-]+/g) ?? []);
  };
  const sourceOnly = ['--source', '--ws-url', '--rest-url', '--speed'];
  for (const role of ['store', 'process', 'serve']) {
    const shown = await flags(role);
    for (const flag of sourceOnly) assert.ok(!shown.has(flag), `${role} --help lists ${flag}`);
    for (const flag of ['--bus', '--brokers', '--db', '--data-dir', '--set', '--config', '--log-level'])
      assert.ok(shown.has(flag), `${role} --help lacks ${flag}`);
  }
  const store = await flags('store');
  for (const flag of ['--port', '--host', '--symbols', '--streams']) assert.ok(!store.has(flag), `store --help lists ${flag}`);
  const serve = await flags('serve');
  for (const flag of ['--port', '--host', '--symbols']) assert.ok(serve.has(flag), `serve --help lacks ${flag}`);
  const ingest = await flags('ingest');
  for (const flag of [...sourceOnly, '--symbols', '--streams', '--market']) assert.ok(ingest.has(flag), `ingest --help lacks ${flag}`);
  for (const flag of ['--db', '--data-dir', '--port']) assert.ok(!ingest.has(flag), `ingest --help lists ${flag}`);
  // Every key is still reachable with --set.
  const set = spawnTickflow(['store', '--set', 'source.symbols=BTCUSDT', '--data-dir', join(tempDir(), 'data')]);
  assert.equal(await exitedWithin(set, 120_000), 2, 'refused for the missing --bus kafka, not for the key');
  assert.match(set.stderr(), /bus\.kind/);
});
