import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { grafanaFiles } from './index.js';

/** `npm run grafana:build`: regenerates the provisioning files in deploy/grafana (test/deploy/grafana.test.ts checks they are current). */
const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
for (const [path, text] of grafanaFiles()) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  console.log(`wrote deploy/grafana/${path}`);
}
