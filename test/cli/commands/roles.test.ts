import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exitedWithin, spawnTickflow } from '../../support/cli.js';
import { tempDir } from '../../support/pipeline.js';

test('a role that needs Kafka says so and exits 2 before it opens anything (no data dir, no port)', async () => {
  for (const role of ['ingest', 'store', 'process', 'serve']) {
    const dataDir = join(tempDir(), 'data');
    const cli = spawnTickflow([role, '--data-dir', dataDir, '--health-port', '0', '--source', 'sim']);
    const code = await exitedWithin(cli, 120_000);
    assert.equal(code, 2, `${role}: ${cli.stderr().slice(-2000)}`);
    assert.match(cli.stderr(), new RegExp(`^tickflow: TF_CONFIG_INVALID: invalid value for bus\\.kind: "memory" — tickflow ${role} exchanges data with the other roles over Kafka: use --bus kafka`, 'm'));
    assert.doesNotMatch(cli.stderr(), /^\s+at /m);
    assert.doesNotMatch(cli.stderr(), /database ready|exchange simulator started|listening/, `${role} opened something first`);
    assert.equal(existsSync(dataDir), false, `${role} created its data dir`);
  }
});
