/**
 * The subset of Grafana's file formats that tickflow provisions (Grafana 11): dashboard JSON
 * (schemaVersion 39), datasource provisioning, and alerting file provisioning (rules, contact
 * points, notification policies; "File provisioning" in Grafana's alerting docs). Only the fields
 * we set are typed, with the literal values Grafana accepts, so a typo fails `tsc`.
 */

export interface DataSourceRef {
  readonly type: 'grafana-postgresql-datasource' | 'prometheus' | '__expr__';
  readonly uid: string;
}

/**
 * A raw-SQL query of the PostgreSQL datasource. `time_series`: a `time` column, string columns
 * become labels, every other column is a value; `table`: rows as returned.
 */
export interface SqlQuery {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly editorMode: 'code';
  readonly rawQuery: true;
  readonly format: 'table' | 'time_series';
  readonly rawSql: string;
}

export interface PromQuery {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly editorMode: 'code';
  readonly expr: string;
  readonly legendFormat: string;
  readonly range: true;
}

export type PanelQuery = SqlQuery | PromQuery;

export interface GridPos {
  readonly x: number;
  readonly y: number;
  readonly w: number;
  readonly h: number;
}

export interface Threshold {
  readonly color: string;
  /** null: the base step. */
  readonly value: number | null;
}

export interface FieldConfig {
  readonly defaults: {
    readonly unit?: string;
    readonly decimals?: number;
    readonly custom?: Readonly<Record<string, unknown>>;
    readonly thresholds?: { readonly mode: 'absolute'; readonly steps: readonly Threshold[] };
  };
  readonly overrides: readonly unknown[];
}

export interface Panel {
  readonly id: number;
  readonly type: 'timeseries' | 'candlestick' | 'table' | 'barchart' | 'stat';
  readonly title: string;
  readonly description: string;
  readonly gridPos: GridPos;
  readonly datasource: DataSourceRef;
  readonly targets: readonly PanelQuery[];
  readonly fieldConfig: FieldConfig;
  readonly options: Readonly<Record<string, unknown>>;
}

export interface RowPanel {
  readonly id: number;
  readonly type: 'row';
  readonly title: string;
  readonly collapsed: false;
  readonly gridPos: GridPos;
  readonly panels: readonly [];
}

/** A dashboard variable filled by a SQL query (refresh 2: on time-range change). */
export interface QueryVariable {
  readonly name: string;
  readonly label: string;
  readonly type: 'query';
  readonly datasource: DataSourceRef;
  readonly query: string;
  readonly definition: string;
  readonly refresh: 2;
  readonly sort: 1;
  /** Multi-value variables expand to a quoted, comma-separated list: use them as `IN ($name)`. */
  readonly multi: boolean;
  readonly includeAll: boolean;
  readonly current: { readonly text: string | readonly string[]; readonly value: string | readonly string[] };
}

export interface Annotation {
  readonly name: string;
  readonly enable: true;
  readonly iconColor: string;
  readonly datasource: DataSourceRef;
  readonly target: SqlQuery;
}

export interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly timezone: 'utc';
  readonly schemaVersion: 39;
  readonly version: 1;
  readonly editable: false;
  readonly graphTooltip: 1;
  readonly refresh: string;
  readonly time: { readonly from: string; readonly to: 'now' };
  readonly links: readonly { readonly title: string; readonly type: 'dashboards'; readonly tags: readonly string[]; readonly asDropdown: false }[];
  readonly templating: { readonly list: readonly QueryVariable[] };
  readonly annotations: { readonly list: readonly Annotation[] };
  readonly panels: readonly (Panel | RowPanel)[];
}

export interface DatasourcesFile {
  readonly apiVersion: 1;
  readonly datasources: readonly {
    readonly name: string;
    readonly uid: string;
    readonly type: DataSourceRef['type'];
    readonly access: 'proxy';
    readonly url: string;
    readonly user?: string;
    readonly isDefault: boolean;
    readonly jsonData: Readonly<Record<string, string | number | boolean>>;
    readonly secureJsonData?: Readonly<Record<string, string>>;
    readonly editable: false;
  }[];
}

export interface DashboardProvidersFile {
  readonly apiVersion: 1;
  readonly providers: readonly {
    readonly name: string;
    readonly folder: string;
    readonly type: 'file';
    readonly disableDeletion: true;
    readonly allowUiUpdates: false;
    readonly options: { readonly path: string; readonly foldersFromFilesStructure: false };
  }[];
}

/** A query of an alert rule; `relativeTimeRange` is in seconds before the evaluation time. */
export interface AlertQuery {
  readonly refId: string;
  readonly relativeTimeRange: { readonly from: number; readonly to: number };
  readonly datasourceUid: string;
  readonly model: SqlQuery | ReduceExpression | ThresholdExpression;
}

/** Server-side expression: one number per series (`dropNN` drops NaN/null before reducing). */
export interface ReduceExpression {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly type: 'reduce';
  readonly expression: string;
  readonly reducer: 'last' | 'max' | 'mean' | 'sum';
  readonly settings: { readonly mode: 'dropNN' };
}

/** Server-side expression: 1 where the reduced value is above `params[0]`, else 0. */
export interface ThresholdExpression {
  readonly refId: string;
  readonly datasource: DataSourceRef;
  readonly type: 'threshold';
  readonly expression: string;
  readonly conditions: readonly { readonly evaluator: { readonly type: 'gt'; readonly params: readonly [number] } }[];
}

/**
 * One alert rule. `labels` are interpolated from the environment by Grafana (no `$` allowed);
 * `annotations` only for `${NAME}` (not used), so Go templates like `{{ $labels.symbol }}` stay.
 */
export interface AlertRule {
  readonly uid: string;
  readonly title: string;
  readonly condition: string;
  readonly data: readonly AlertQuery[];
  readonly dashboardUid: string;
  readonly panelId: number;
  readonly noDataState: 'OK';
  readonly execErrState: 'Error';
  readonly for: string;
  readonly annotations: Readonly<Record<'summary' | 'description', string>>;
  readonly labels: Readonly<Record<string, string>>;
  readonly isPaused: false;
}

export interface AlertRulesFile {
  readonly apiVersion: 1;
  readonly groups: readonly {
    readonly orgId: 1;
    readonly name: string;
    readonly folder: string;
    readonly interval: string;
    readonly rules: readonly AlertRule[];
  }[];
}

/** Contact points; `settings` values are interpolated from Grafana's environment (`$NAME`). */
export interface ContactPointsFile {
  readonly apiVersion: 1;
  readonly contactPoints: readonly {
    readonly orgId: 1;
    readonly name: string;
    readonly receivers: readonly {
      readonly uid: string;
      readonly type: 'email';
      readonly settings: { readonly addresses: string; readonly singleEmail: boolean; readonly subject?: string };
      readonly disableResolveMessage: false;
    }[];
  }[];
}

export interface NotificationPoliciesFile {
  readonly apiVersion: 1;
  readonly policies: readonly {
    readonly orgId: 1;
    readonly receiver: string;
    readonly group_by: readonly string[];
    readonly group_wait: string;
    readonly group_interval: string;
    readonly repeat_interval: string;
  }[];
}
