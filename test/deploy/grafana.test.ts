import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { parse, stringify } from 'yaml';
import type {
  AlertRulesFile,
  ContactPointsFile,
  Dashboard,
  DashboardProvidersFile,
  DatasourcesFile,
  NotificationPoliciesFile,
  Panel,
  QueryVariable,
  SqlQuery,
} from '../../deploy/grafana/code/model.js';
import { grafanaFiles } from '../../deploy/grafana/code/index.js';
import { SPREAD_THRESHOLD_BPS, VOLATILITY_THRESHOLD } from '../../deploy/grafana/code/queries.js';
import { configSchema } from '../../src/config/schema.js';
import { HealthRegistry } from '../../src/ops/health.js';
import { silentLogger } from '../../src/ops/logger.js';
import { createMetrics } from '../../src/ops/metrics.js';
import { exportHealth } from '../../src/ops/process-metrics.js';
import { migrate } from '../../src/store/migrate.js';
import { openPostgres } from '../../src/store/postgres.js';
import { REPO_ROOT } from '../support/data.js';
import { freshDatabase } from '../support/postgres.js';
import { expandGrafanaSql } from './grafana-sql.js';

/*
 * Grafana itself is not installable here (no Debian package, no Docker), so its provisioning is
 * checked against what Grafana would do with it: the files are the generator's output, the rules
 * and contact point have the shape the seed asks for, and every SQL query — panels, variables,
 * annotations, alert rules — runs with Grafana's macros expanded against tickflow's migrated schema
 * on the PostgreSQL server.
 */

const GRAFANA = join(REPO_ROOT, 'deploy', 'grafana');
const read = (path: string) => readFileSync(join(GRAFANA, path), 'utf8');
const yamlOf = <T>(path: string) => parse(read(path)) as T;
const dashboards = () => ['tickflow-market', 'tickflow-risk'].map((uid) => JSON.parse(read(`dashboards/${uid}.json`)) as Dashboard);
const rules = () => yamlOf<AlertRulesFile>('provisioning/alerting/rules.yml');

interface GrafanaService {
  environment: Record<string, string>;
  volumes: string[];
}
const grafanaService = () =>
  (parse(readFileSync(join(REPO_ROOT, 'deploy', 'docker-compose.yml'), 'utf8'), { merge: true }) as { services: { grafana: GrafanaService } }).services.grafana;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : [join(dir, e.name)]));
}

const panelsOf = (d: Dashboard) => d.panels.filter((p): p is Panel => p.type !== 'row');

test('the committed provisioning is what `npm run grafana:build` generates, and nothing else', () => {
  const generated = grafanaFiles();
  for (const [path, text] of generated) assert.equal(read(path), text, `deploy/grafana/${path} is stale: run npm run grafana:build`);
  const committed = [...filesUnder(join(GRAFANA, 'provisioning')), ...filesUnder(join(GRAFANA, 'dashboards'))].map((f) => relative(GRAFANA, f));
  assert.deepEqual(committed.sort(), [...generated.keys()].sort());
});

test('alert rules: Query → Reduce → Threshold, every 30 s, for 1m, no data is OK, linked to their panel', () => {
  const file = rules();
  assert.equal(file.groups.length, 1);
  const group = file.groups[0]!;
  assert.equal(group.interval, '30s');
  assert.deepEqual(
    group.rules.map((r) => r.title),
    ['Volatility alert', 'Spread warning', 'Unhealed gap'],
  );
  const risk = dashboards()[1]!;
  for (const rule of group.rules) {
    assert.equal(rule.for, '1m', rule.title);
    assert.equal(rule.noDataState, 'OK', rule.title);
    assert.equal(rule.condition, 'C');
    const [a, b, c] = rule.data;
    assert.equal(rule.data.length, 3);
    assert.equal(a!.datasourceUid, 'tickflow-postgres');
    assert.ok(a!.relativeTimeRange.from > 0);
    assert.ok('rawSql' in a!.model && a!.model.format === 'time_series');
    assert.deepEqual([b!.datasourceUid, 'type' in b!.model && b!.model.type, 'expression' in b!.model && b!.model.expression], ['__expr__', 'reduce', 'A']);
    assert.deepEqual([c!.datasourceUid, 'type' in c!.model && c!.model.type, 'expression' in c!.model && c!.model.expression], ['__expr__', 'threshold', 'B']);
    assert.equal(rule.dashboardUid, risk.uid);
    assert.ok(
      panelsOf(risk).some((p) => p.id === rule.panelId),
      `${rule.title}: panel ${rule.panelId} exists`,
    );
    // Grafana interpolates the environment into labels ($NAME) and annotations (${NAME}) of provisioned rules.
    assert.ok(!Object.values(rule.labels).some((v) => v.includes('$')), `${rule.title}: labels without $`);
    assert.ok(!Object.values(rule.annotations).some((v) => v.includes('${')), `${rule.title}: annotations without \${`);
  }
  const thresholds = group.rules.map((r) => {
    const model = r.data[2]!.model;
    return 'conditions' in model ? model.conditions[0]!.evaluator.params[0] : undefined;
  });
  const defaults = configSchema.parse({}).processor;
  assert.deepEqual(thresholds, [defaults.volatilityRatio, defaults.spreadWarningBps, 0]);
  for (const [rule, threshold] of group.rules.map((r, i) => [r, thresholds[i]] as const)) {
    assert.ok(rule.annotations.summary.includes(String(threshold)) || threshold === 0, `${rule.title}: message states its threshold`);
  }
});

test('the contact point, SMTP and the datasource are read from the Grafana container environment', () => {
  const service = grafanaService();
  const env = service.environment;
  // Only compose variables (`${NAME}`, `${NAME:-default}`), joined by ':' at most (host:port).
  const fromEnv = (value: string) => /^\$\{\w+(:-[^}]*)?\}(:\$\{\w+(:-[^}]*)?\})?$/.test(value);
  const points = yamlOf<ContactPointsFile>('provisioning/alerting/contact-points.yml');
  const receiver = points.contactPoints[0]!.receivers[0]!;
  assert.equal(receiver.type, 'email');
  const addresses = /^\$(\w+)$/.exec(receiver.settings.addresses);
  assert.ok(addresses, 'addresses come from a variable');
  assert.ok(fromEnv(env[addresses[1]!]!), `${addresses[1]} is set from the compose environment`);
  for (const key of ['GF_SMTP_ENABLED', 'GF_SMTP_HOST', 'GF_SMTP_USER', 'GF_SMTP_PASSWORD', 'GF_SMTP_FROM_ADDRESS', 'GF_SMTP_STARTTLS_POLICY']) {
    assert.ok(fromEnv(String(env[key])), `${key} is set from the compose environment`);
  }
  const policies = yamlOf<NotificationPoliciesFile>('provisioning/alerting/policies.yml');
  assert.equal(policies.policies[0]!.receiver, points.contactPoints[0]!.name);

  const sources = yamlOf<DatasourcesFile>('provisioning/datasources/tickflow.yml');
  const postgres = sources.datasources.find((d) => d.type === 'grafana-postgresql-datasource')!;
  const referenced = [...stringify(postgres).matchAll(/\$(\w+)/g)].map((m) => m[1]!);
  assert.deepEqual(new Set(referenced), new Set(['TICKFLOW_DB_HOST', 'TICKFLOW_DB_USER', 'TICKFLOW_DB_NAME', 'TICKFLOW_DB_SSLMODE', 'TICKFLOW_DB_PASSWORD']));
  for (const name of referenced) assert.ok(fromEnv(env[name]!), `${name} is set from the compose environment`);

  const uids = new Set(sources.datasources.map((d) => d.uid));
  for (const d of dashboards()) for (const p of panelsOf(d)) assert.ok(uids.has(p.datasource.uid), `${d.title} / ${p.title}: datasource is provisioned`);
  const providers = yamlOf<DashboardProvidersFile>('provisioning/dashboards/tickflow.yml');
  assert.ok(service.volumes.includes(`./grafana/dashboards:${providers.providers[0]!.options.path}:ro`));
  assert.ok(service.volumes.includes('./grafana/provisioning:/etc/grafana/provisioning:ro'));
  const home = env.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH!;
  assert.ok(
    dashboards().some((d) => home === `${providers.providers[0]!.options.path}/${d.uid}.json`),
    `home dashboard ${home} is provisioned`,
  );
});

test('the Prometheus panels parse (promtool) and name series tickflow exports', () => {
  const metrics = createMetrics();
  exportHealth(metrics, new HealthRegistry());
  const exported = new Set(metrics.registry.getMetricsAsArray().map((m) => m.name));
  const exprs = dashboards().flatMap((d) => panelsOf(d).flatMap((p) => p.targets.flatMap((q) => ('expr' in q ? [q.expr] : []))));
  assert.ok(exprs.length >= 3);
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/tickflow_\w+/g)) assert.ok(exported.has(name.replace(/_(bucket|sum|count)$/, '')), `${name} is exported`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'tickflow-grafana-'));
  try {
    const file = join(dir, 'panels.yml');
    const recording = exprs.map((expr, i) => ({ record: `panel:${i}`, expr: expr.replaceAll('$__rate_interval', '1m') }));
    writeFileSync(file, stringify({ groups: [{ name: 'panels', rules: recording }] }));
    assert.match(execFileSync('promtool', ['check', 'rules', file], { encoding: 'utf8' }), new RegExp(`SUCCESS: ${exprs.length} rules found`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const MINUTE = 60_000;
const INSTRUMENTS = [
  { symbol: 'BTCUSDT', price: 61_000 },
  { symbol: 'ETHUSDT', price: 2_600 },
] as const;

/**
 * Rows for both instruments over the last minutes. BTCUSDT's latest windows break both thresholds
 * (an older one does not, so "last" matters) and it has an unhealed trade gap; ETHUSDT stays below
 * them and its trade gap is healed. Both have a depth gap, which healing never marks.
 */
async function seed(db: Awaited<ReturnType<typeof openPostgres>>, minute: number): Promise<void> {
  const at = (ms: number) => new Date(ms).toISOString();
  for (const { symbol, price } of INSTRUMENTS) {
    const btc = symbol === 'BTCUSDT';
    for (let k = 3; k >= 1; k--) {
      const start = minute - k * MINUTE;
      const latest = k === 1;
      const stddev = price * (btc && latest ? VOLATILITY_THRESHOLD * 1.5 : VOLATILITY_THRESHOLD / 10);
      await db.query(
        `INSERT INTO candles (exchange, market, symbol, interval, window_start, window_end, open, high, low, close, volume, quote_volume,
           trade_count, taker_buy_volume, taker_buy_quote_volume, vwap, first_trade_id, last_trade_id, indicators, is_final, is_complete, source_offset)
         SELECT 'binance', 'spot', $1, '1m', $2::timestamptz, $3::timestamptz, p, p * 1.001, p * 0.999, p, 2.5, p * 2.5, 20, 1.25, p * 1.25, p, id, id + 19,
           '{}'::jsonb, true, true, id
         FROM (SELECT $4::numeric AS p, $5::bigint AS id) v`,
        [symbol, at(start), at(start + MINUTE), String(price), 1000 * (4 - k)],
      );
      await db.query(
        `INSERT INTO trade_metrics (exchange, market, symbol, interval, window_start, window_end, vwap, price_stddev, trade_count, volume, quote_volume,
           buy_volume, sell_volume, buy_sell_ratio, largest_trade_qty, largest_trade_notional, open, close, first_trade_id, last_trade_id, samples,
           price_mean, price_m2, volatility_alert, volume_spike, price_move, is_final, source_offset)
         SELECT 'binance', 'spot', $1, '1m', $2::timestamptz, $3::timestamptz, p, $5::float8, 20, 2.5, p * 2.5, 1.25, 1.25, 1, 0.5, p * 0.5, p, p,
           id, id + 19, 20, p::float8, 0, $7::boolean, false, false, true, id
         FROM (SELECT $4::numeric AS p, $6::bigint AS id) v`,
        [symbol, at(start), at(start + MINUTE), String(price), stddev, 1000 * (4 - k), stddev / price > VOLATILITY_THRESHOLD],
      );
      for (const half of [0, MINUTE / 2]) {
        const bps = btc && latest ? SPREAD_THRESHOLD_BPS * 1.2 : 0.05;
        const spread = (price * bps) / 10_000;
        await db.query(
          `INSERT INTO spread_metrics (exchange, market, symbol, interval, window_start, window_end, avg_spread, min_spread, max_spread, avg_spread_bps,
             avg_mid, update_count, sum_spread, sum_bid_plus_ask, sum_bps, spread_warning, is_final, source_offset)
           SELECT 'binance', 'spot', $1, '30s', $2::timestamptz, $3::timestamptz, s, s, s, bps, p, 10, s * 10, p * 20, bps * 10, $7::boolean, true, 1
           FROM (SELECT $4::numeric AS s, $5::float8 AS bps, $6::numeric AS p) v`,
          [symbol, at(start + half), at(start + half + MINUTE / 2), spread.toFixed(8), bps, String(price), bps > SPREAD_THRESHOLD_BPS],
        );
      }
    }
    await db.query(
      `INSERT INTO trades (exchange, market, symbol, kind, trade_id, price, quantity, buyer_is_maker, trade_time, event_time, ingestion_timestamp)
       VALUES ('binance', 'spot', $1, 'trade', 7, $2, '3', false, $3, $3, $4)`,
      [symbol, String(price), at(minute - 90_000), at(minute - 89_950)],
    );
    await db.query(
      `INSERT INTO whale_trades (exchange, market, symbol, trade_id, trade_time, price, quantity, notional, side)
       VALUES ('binance', 'spot', $1, 7, $2, $3::numeric, 100, $3::numeric * 100, 'buy')`,
      [symbol, at(minute - 90_000), String(price)],
    );
    await db.query(
      `INSERT INTO gaps (exchange, market, symbol, stream, first_missing_id, last_missing_id, detected_at, reason, heal_status, heal_rows, healed_at)
       VALUES ('binance', 'spot', $1, 'trade', 11, 14, $2, 'sequence hole', $3, $4, $5)`,
      [symbol, at(minute - 2 * MINUTE), btc ? null : 'healed', btc ? null : 4, btc ? null : at(minute - 2 * MINUTE + 500)],
    );
    // A depth gap is recovered by a snapshot, never healed from REST: it must not count as unhealed.
    await db.query(
      `INSERT INTO gaps (exchange, market, symbol, stream, first_missing_id, last_missing_id, detected_at, reason)
       VALUES ('binance', 'spot', $1, 'depth', 500, 520, $2, 'update id sequence break')`,
      [symbol, at(minute - 2 * MINUTE)],
    );
  }
}

interface Query {
  readonly where: string;
  readonly sql: string;
  readonly format: SqlQuery['format'] | 'variable';
  readonly variables: QueryContext['variables'];
}
type QueryContext = Parameters<typeof expandGrafanaSql>[1];

function dashboardQueries(d: Dashboard): Query[] {
  const variables = Object.fromEntries(
    d.templating.list.map((v: QueryVariable) => [v.name, v.multi ? INSTRUMENTS.map((i) => i.symbol) : String(v.current.value)]),
  );
  return [
    ...panelsOf(d).flatMap((p) =>
      p.targets.flatMap((q) => ('rawSql' in q ? [{ where: `${d.title} / ${p.title}`, sql: q.rawSql, format: q.format, variables }] : [])),
    ),
    ...d.templating.list.map((v) => ({ where: `${d.title} / $${v.name}`, sql: v.query, format: 'variable' as const, variables })),
    ...d.annotations.list.map((a) => ({ where: `${d.title} / annotation ${a.name}`, sql: a.target.rawSql, format: a.target.format, variables })),
  ];
}

const isTime = (v: unknown) => v instanceof Date || Number.isFinite(Number(v));

test('every panel, variable, annotation and alert query runs on the real schema and returns time and values', async (t) => {
  const db = await openPostgres(await freshDatabase(t), { logger: silentLogger() });
  t.after(() => db.close());
  await migrate(db, { logger: silentLogger(), retentionDays: 30 });
  const now = Date.now();
  const minute = Math.floor(now / MINUTE) * MINUTE;
  await seed(db, minute);

  const queries = dashboards().flatMap(dashboardQueries);
  assert.ok(queries.length >= 20, `${queries.length} dashboard queries`);
  const range = { from: new Date(now - 3 * 3_600_000), to: new Date(now + MINUTE), intervalS: 60 };
  for (const q of queries) {
    const rows = await db.query<Record<string, unknown>>(expandGrafanaSql(q.sql, { ...range, variables: q.variables }));
    assert.ok(rows.length > 0, `${q.where} returns rows`);
    const columns = Object.keys(rows[0]!);
    if (q.format === 'variable') {
      assert.equal(columns.length, 1, q.where);
      continue;
    }
    assert.equal(columns[0], 'time', `${q.where}: first column is time (${columns})`);
    for (const row of rows) assert.ok(isTime(row.time), `${q.where}: time ${String(row.time)}`);
    if (q.format === 'time_series') {
      // Grafana turns string columns into series names (`metric`) or labels; every other column must be a number.
      const values = columns.slice(1).filter((c) => c !== 'metric');
      assert.ok(values.length > 0, `${q.where}: has a value column`);
      for (const row of rows)
        for (const c of values) assert.ok(row[c] === null || typeof row[c] === 'number', `${q.where}: ${c} = ${String(row[c])} is a number`);
    }
  }
  const candles = queries.find((q) => q.where.endsWith('/ Candles'))!;
  const [candle] = await db.query<Record<string, unknown>>(expandGrafanaSql(candles.sql, { ...range, variables: candles.variables }));
  assert.deepEqual(Object.keys(candle!), ['time', 'open', 'high', 'low', 'close', 'volume']);

  // Alert rules: run A as Grafana would over the rule's own window, then Reduce and Threshold on the rows.
  for (const rule of rules().groups[0]!.rules) {
    const a = rule.data[0]!;
    const b = rule.data[1]!.model;
    const c = rule.data[2]!.model;
    assert.ok('rawSql' in a.model && 'reducer' in b && 'conditions' in c);
    const window = { from: new Date(now - a.relativeTimeRange.from * 1000), to: new Date(now), intervalS: 30, variables: {} };
    const rows = await db.query<Record<string, unknown>>(expandGrafanaSql(a.model.rawSql, window));
    assert.ok(rows.length > 0, `${rule.title} returns rows`);
    const columns = Object.keys(rows[0]!);
    assert.equal(columns[0], 'time');
    assert.equal(columns.at(-1), 'value');
    const labels = columns.slice(1, -1);
    assert.ok(labels.includes('symbol'), `${rule.title}: one series per instrument`);
    const series = new Map<string, number[]>();
    for (const row of rows) {
      assert.ok(isTime(row.time) && typeof row.value === 'number', `${rule.title}: ${JSON.stringify(row)}`);
      for (const l of labels) assert.equal(typeof row[l], 'string', `${rule.title}: label ${l}`);
      const key = String(row.symbol);
      series.set(key, [...(series.get(key) ?? []), row.value as number]);
    }
    const reduce = (v: number[]) => (b.reducer === 'sum' ? v.reduce((s, x) => s + x, 0) : v.at(-1)!);
    const firing = [...series].filter(([, v]) => reduce(v) > c.conditions[0]!.evaluator.params[0]).map(([k]) => k);
    assert.deepEqual(firing, ['BTCUSDT'], `${rule.title}: fires for the instrument beyond its threshold only`);
  }
});
