import type { Annotation, Dashboard, DataSourceRef, FieldConfig, Panel, PromQuery, QueryVariable, RowPanel, SqlQuery, Threshold } from './model.js';

/** The tickflow database as provisioned in datasources.yml (deploy/grafana/code/datasources.ts). */
export const POSTGRES: DataSourceRef = { type: 'grafana-postgresql-datasource', uid: 'tickflow-postgres' };
export const PROMETHEUS: DataSourceRef = { type: 'prometheus', uid: 'tickflow-prometheus' };
export const EXPRESSIONS: DataSourceRef = { type: '__expr__', uid: '__expr__' };

export function sql(rawSql: string, format: SqlQuery['format'] = 'time_series', refId = 'A'): SqlQuery {
  return { refId, datasource: POSTGRES, editorMode: 'code', rawQuery: true, format, rawSql };
}

export function promql(expr: string, legendFormat: string, refId = 'A'): PromQuery {
  return { refId, datasource: PROMETHEUS, editorMode: 'code', expr, legendFormat, range: true };
}

/** What a panel shows; position and id are assigned by `layout`. */
export interface PanelSpec {
  readonly type: Panel['type'];
  readonly title: string;
  readonly description: string;
  readonly targets: readonly (SqlQuery | PromQuery)[];
  /** Grid columns out of 24. */
  readonly width: 6 | 8 | 12 | 24;
  readonly unit?: string;
  /** A dashed red line (time series) or red cell colour at this value: the matching alert's threshold. */
  readonly threshold?: number;
  readonly custom?: Readonly<Record<string, unknown>>;
  readonly options?: Readonly<Record<string, unknown>>;
}

/** A row heading and the panels under it. */
export interface Section {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

const PANEL_HEIGHT = 8;

function fieldConfig(spec: PanelSpec): FieldConfig {
  const steps: Threshold[] = [{ color: 'green', value: null }];
  if (spec.threshold !== undefined) steps.push({ color: 'red', value: spec.threshold });
  const custom = { ...(spec.threshold !== undefined && spec.type === 'timeseries' ? { thresholdsStyle: { mode: 'dashed' } } : {}), ...spec.custom };
  return {
    defaults: {
      ...(spec.unit ? { unit: spec.unit } : {}),
      ...(Object.keys(custom).length > 0 ? { custom } : {}),
      thresholds: { mode: 'absolute', steps },
    },
    overrides: [],
  };
}

function datasourceOf(spec: PanelSpec): DataSourceRef {
  const sources = new Set(spec.targets.map((t) => t.datasource.uid));
  if (sources.size !== 1) throw new Error(`panel "${spec.title}" mixes datasources`);
  return spec.targets[0]!.datasource;
}

/**
 * Places sections top to bottom: a row panel, then the section's panels left to right, wrapping
 * at 24 columns. Ids are 1, 2, … in order, so alert rules can name the panel they belong to.
 */
export function layout(sections: readonly Section[]): (Panel | RowPanel)[] {
  const out: (Panel | RowPanel)[] = [];
  let y = 0;
  for (const section of sections) {
    out.push({ id: out.length + 1, type: 'row', title: section.title, collapsed: false, gridPos: { x: 0, y, w: 24, h: 1 }, panels: [] });
    y += 1;
    let x = 0;
    for (const spec of section.panels) {
      if (x + spec.width > 24) {
        x = 0;
        y += PANEL_HEIGHT;
      }
      out.push({
        id: out.length + 1,
        type: spec.type,
        title: spec.title,
        description: spec.description,
        gridPos: { x, y, w: spec.width, h: PANEL_HEIGHT },
        datasource: datasourceOf(spec),
        targets: spec.targets,
        fieldConfig: fieldConfig(spec),
        options: spec.options ?? {},
      });
      x += spec.width;
    }
    y += PANEL_HEIGHT;
  }
  return out;
}

/** The id `layout` gives the panel titled `title`. */
export function panelId(panels: readonly (Panel | RowPanel)[], title: string): number {
  const panel = panels.find((p) => p.title === title);
  if (!panel) throw new Error(`no panel titled "${title}"`);
  return panel.id;
}

/**
 * A single- or multi-value variable over a column of `candles` (instruments, candle intervals);
 * `scope` restricts it by the variables before it, e.g. ` AND exchange = '$exchange'`.
 */
export function candleVariable(name: string, column: string, label: string, scope: string, current: string, multi = false): QueryVariable {
  // candles holds one row per instrument and window: far fewer rows to scan than the raw tables.
  const query = `SELECT DISTINCT ${column} FROM candles WHERE window_start > now() - interval '1 day'${scope} ORDER BY 1`;
  return {
    name,
    label,
    type: 'query',
    datasource: POSTGRES,
    query,
    definition: query,
    refresh: 2,
    sort: 1,
    multi,
    includeAll: multi,
    current: multi ? { text: ['All'], value: ['$__all'] } : { text: current, value: current },
  };
}

/**
 * $exchange, $market (single-value) and $symbol: single-value (default BTCUSDT) for one instrument,
 * or multi-value with All for several symbols of one exchange and market.
 */
export function instrumentVariables(symbols: 'one' | 'many'): QueryVariable[] {
  const many = symbols === 'many';
  return [
    candleVariable('exchange', 'exchange', 'Exchange', '', 'binance'),
    candleVariable('market', 'market', 'Market', " AND exchange = '$exchange'", 'spot'),
    candleVariable('symbol', 'symbol', many ? 'Symbols' : 'Symbol', " AND exchange = '$exchange' AND market = '$market'", many ? 'All' : 'BTCUSDT', many),
  ];
}

/** What differs between tickflow dashboards; the rest is fixed (UTC, read-only, shared crosshair, linked by tag). */
export interface DashboardSpec {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly refresh: string;
  /** Default range, e.g. `now-3h`. */
  readonly from: string;
  readonly variables: readonly QueryVariable[];
  readonly annotations: readonly Annotation[];
  readonly sections: readonly Section[];
}

export function dashboard(spec: DashboardSpec): Dashboard {
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['tickflow'],
    timezone: 'utc',
    schemaVersion: 39,
    version: 1,
    editable: false,
    graphTooltip: 1,
    refresh: spec.refresh,
    time: { from: spec.from, to: 'now' },
    links: [{ title: 'tickflow', type: 'dashboards', tags: ['tickflow'], asDropdown: false }],
    templating: { list: spec.variables },
    annotations: { list: spec.annotations },
    panels: layout(spec.sections),
  };
}
