import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import { configKeys, envName, loadConfig } from '../../src/config/load.js';
import { silentLogger } from '../../src/ops/logger.js';
import { type Role, healthEndpointFor } from '../../src/ops/ops-server.js';
import { openEmbedded } from '../../src/store/embedded.js';
import { migrate } from '../../src/store/migrate.js';
import { REPO_ROOT } from '../support/data.js';

/*
 * The deployment files cannot be run here (no Docker engine), so they are checked against what they
 * refer to: YAML syntax, tickflow's config keys and role ports, Prometheus' own validator, and the
 * dashboard's SQL against the real schema.
 */

const DEPLOY = join(REPO_ROOT, 'deploy');
const ROLES: readonly Role[] = ['run', 'ingest', 'store', 'process', 'serve'];

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)],
  );
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
  return value.replace(/\$\{(\w+)(?::-([^}]*)|:\?[^}]*)?\}/g, (_m, name: string, fallback?: string) =>
    fallback ?? `sample-${name.toLowerCase()}`,
  );
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

/** What Grafana's PostgreSQL datasource does to a query before sending it, for the macros we use. */
function expandGrafana(sqlText: string): string {
  return sqlText
    .replace(/\$__timeGroupAlias\((\w+),\s*\$__interval\)/g, `to_timestamp(floor(extract(epoch from $1) / 60) * 60) AS "time"`)
    .replace(/\$__timeFilter\((\w+)\)/g, `$1 BETWEEN now() - interval '3 hours' AND now() + interval '1 hour'`)
    .replaceAll('$symbol', 'BTCUSDT')
    .replaceAll('$interval', '1m');
}

test('the dashboard queries run against the real schema and return candles, volume and spread', async (t) => {
  const dashboard = JSON.parse(readFileSync(join(DEPLOY, 'grafana', 'dashboards', 'tickflow-market.json'), 'utf8')) as {
    panels: { type: string; title: string; datasource?: { uid: string }; targets?: { rawSql?: string; expr?: string }[] }[];
    templating: { list: { query: string }[] };
    annotations: { list: { target: { rawSql: string } }[] };
  };
  const datasources = parse(
    readFileSync(join(DEPLOY, 'grafana', 'provisioning', 'datasources', 'tickflow.yml'), 'utf8'),
  ) as { datasources: { uid: string }[] };
  const uids = new Set(datasources.datasources.map((d) => d.uid));
  for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
    assert.ok(uids.has(panel.datasource!.uid), `${panel.title}: datasource is provisioned`);
  }
  assert.deepEqual(
    ['candlestick', 'Volume', 'Bid-ask spread'].map((k) => dashboard.panels.some((p) => p.type === k || p.title === k)),
    [true, true, true],
  );

  const dir = mkdtempSync(join(tmpdir(), 'tickflow-dashboard-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const db = await openEmbedded({ dataDir: dir, port: 0, logger: silentLogger() });
  t.after(() => db.close());
  await migrate(db, { logger: silentLogger(), retentionDays: 30 });
  await db.query(
    `INSERT INTO klines (exchange, market, symbol, interval, open_time, close_time, first_trade_id, last_trade_id, open, high, low,
       close, volume, quote_volume, trade_count, taker_buy_volume, taker_buy_quote_volume, closed, event_time, ingestion_timestamp)
     VALUES ('binance', 'spot', 'BTCUSDT', '1m', date_trunc('minute', now()) - interval '1 minute', date_trunc('minute', now()) - interval '1 millisecond',
       1, 10, '61000.10', '61010.00', '60990.00', '61005.50', '1.25000000', '76256.88', 10, '0.50000000', '30502.75', true, now(), now())`,
  );
  await db.query(
    `INSERT INTO book_ticker (exchange, market, symbol, update_id, bid_price, bid_qty, ask_price, ask_qty, event_time, ingestion_timestamp)
     VALUES ('binance', 'spot', 'BTCUSDT', 1, '61000.00', '1', '61000.61', '1', now() - interval '1 minute', now())`,
  );
  await db.query(
    `INSERT INTO gaps (exchange, market, symbol, stream, first_missing_id, last_missing_id, detected_at, reason)
     VALUES ('binance', 'spot', 'BTCUSDT', 'trade', 11, 12, now() - interval '1 minute', 'sequence hole')`,
  );

  const queries = [
    ...dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((q) => (q.rawSql ? [{ title: p.title, sql: q.rawSql }] : []))),
    ...dashboard.templating.list.map((v) => ({ title: 'variable', sql: v.query })),
    ...dashboard.annotations.list.map((a) => ({ title: 'annotation', sql: a.target.rawSql })),
  ];
  assert.equal(queries.length, 6);
  const results = new Map<string, Record<string, unknown>[]>();
  for (const q of queries) {
    const rows = await db.query<Record<string, unknown>>(expandGrafana(q.sql));
    assert.ok(rows.length > 0, `${q.title} returns rows: ${q.sql}`);
    results.set(q.title, rows);
  }
  const candle = results.get('Candles')![0]!;
  assert.deepEqual(Object.keys(candle), ['time', 'open', 'high', 'low', 'close', 'volume']);
  assert.equal(candle.close, 61005.5);
  const spread = results.get('Bid-ask spread')![0]!;
  assert.ok(Math.abs((spread['mean spread'] as number) - 0.1) < 1e-6, `spread ${spread['mean spread']} bps`);
});
