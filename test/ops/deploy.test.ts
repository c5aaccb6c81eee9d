import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { configKeys, envName, loadConfig } from '../../src/config/load.js';
import { type Role, healthEndpointFor } from '../../src/ops/ops-server.js';
import { REPO_ROOT } from '../support/data.js';

/*
 * The deployment files cannot be run here (no Docker engine), so they are checked against what they
 * refer to: YAML syntax, tickflow's config keys and role ports, and Prometheus' own validator. The
 * Grafana provisioning has its own test (test/deploy/grafana.test.ts).
 */

const DEPLOY = join(REPO_ROOT, 'deploy');
const ROLES: readonly Role[] = ['run', 'ingest', 'store', 'process', 'serve'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string[];
  environment?: Record<string, string | number>;
  healthcheck?: { test: string[] };
  volumes?: string[];
  depends_on?: Record<string, unknown> | string[];
}
const compose = () =>
  parse(readFileSync(join(DEPLOY, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, ComposeService>;
    volumes: Record<string, unknown>;
  };

/** Compose interpolation: `${VAR:-default}` → default, `${VAR:?message}` → a sample value. */
function interpolate(value: string): string {
  return value.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_m, name: string, fallback?: string) => fallback ?? `sample-${name.toLowerCase()}`);
}

test('every YAML file under deploy/ parses without errors or warnings', () => {
  const yamlFiles = filesUnder(DEPLOY).filter((f) => /\.ya?ml$/.test(f));
  assert.ok(yamlFiles.length >= 6, `found ${yamlFiles.map((f) => relative(DEPLOY, f))}`);
  for (const file of yamlFiles) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'), { merge: true, uniqueKeys: true })) {
      assert.deepEqual(doc.errors.map(String), [], relative(DEPLOY, file));
      assert.deepEqual(doc.warnings.map(String), [], relative(DEPLOY, file));
    }
  }
});

test('compose services are complete and refer only to files and volumes that exist', () => {
  const { services, volumes } = compose();
  for (const name of ['kafka', 'timescaledb', 'ingest', 'store', 'process', 'serve', 'prometheus', 'grafana']) {
    const svc = services[name];
    assert.ok(svc, `service ${name}`);
    assert.ok(svc.image ?? svc.build, `${name} has an image or a build`);
  }
  assert.ok(existsSync(join(REPO_ROOT, 'Dockerfile')));
  for (const [name, svc] of Object.entries(services)) {
    for (const volume of svc.volumes ?? []) {
      const source = volume.split(':')[0]!;
      if (source.startsWith('.')) assert.ok(existsSync(join(DEPLOY, source)), `${name}: ${source} exists`);
      else assert.ok(source in volumes, `${name}: named volume ${source} is declared`);
    }
    const deps = Array.isArray(svc.depends_on) ? svc.depends_on : Object.keys(svc.depends_on ?? {});
    for (const dep of deps) assert.ok(dep in services, `${name} depends on ${dep}, which exists`);
  }
});

test('each tickflow service is a valid configuration whose probes match health check and scrape target', () => {
  const { services } = compose();
  const known = new Set([...configKeys().keys()].map(envName));
  const prometheus = parse(readFileSync(join(DEPLOY, 'prometheus.compose.yml'), 'utf8')) as {
    scrape_configs: { static_configs: { targets: string[]; labels: { role: string } }[] }[];
  };
  const scraped = new Map(prometheus.scrape_configs[0]!.static_configs.map((s) => [s.labels.role, s.targets[0]]));
  const tickflow = Object.entries(services).filter(([, s]) => s.image === 'tickflow:latest');
  assert.deepEqual(tickflow.map(([n]) => n).sort(), ['ingest', 'process', 'serve', 'store']);
  for (const [name, svc] of tickflow) {
    const role = svc.command?.[0] as Role;
    assert.ok(ROLES.includes(role), `${name} runs a role`);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(svc.environment ?? {})) {
      if (!k.startsWith('TICKFLOW_')) continue;
      assert.ok(known.has(k), `${name}: ${k} is a tickflow setting`);
      env[k] = interpolate(String(v));
    }
    const config = loadConfig({ env });
    assert.equal(config.bus.kind, 'kafka');
    assert.ok(config.store.url.startsWith('postgres://'));
    const endpoint = healthEndpointFor(role, config);
    const port = endpoint.onApi ? config.api.port : endpoint.port;
    if (!endpoint.onApi) assert.equal(endpoint.host, '0.0.0.0', `${name} probes reachable from other containers`);
    assert.match(svc.healthcheck!.test.join(' '), new RegExp(`127\\.0\\.0\\.1:${port}/ready`), `${name} health check port`);
    assert.equal(scraped.get(role), `${name}:${port}`, `${name} scrape target`);
  }
});

test('the local scrape config targets every role on its default port', () => {
  const prometheus = parse(readFileSync(join(DEPLOY, 'prometheus.yml'), 'utf8')) as {
    scrape_configs: { static_configs: { targets: string[] }[] }[];
  };
  const targets = prometheus.scrape_configs[0]!.static_configs.flatMap((s) => s.targets).sort();
  const auto = loadConfig({ env: {} });
  const ports = new Set(ROLES.map((r) => healthEndpointFor(r, auto)).map((e) => (e.onApi ? auto.api.port : e.port)));
  assert.deepEqual(targets, [...ports].map((p) => `127.0.0.1:${p}`).sort());
});

test('promtool accepts both Prometheus configs and the alert rules', () => {
  for (const file of ['prometheus.yml', 'prometheus.compose.yml']) {
    const out = execFileSync('promtool', ['check', 'config', file], { cwd: DEPLOY, encoding: 'utf8' });
    assert.match(out, /SUCCESS: \d+ rules found/);
  }
});
