import type { DashboardProvidersFile, DatasourcesFile } from './model.js';
import { POSTGRES, PROMETHEUS } from './panels.js';

/**
 * Environment variables of the Grafana container that the PostgreSQL datasource reads; Grafana
 * interpolates `$NAME` in provisioning files when it starts (it has no defaults: compose sets them).
 */
export const DATABASE_VARIABLES = {
  url: 'TICKFLOW_DB_HOST',
  database: 'TICKFLOW_DB_NAME',
  user: 'TICKFLOW_DB_USER',
  password: 'TICKFLOW_DB_PASSWORD',
  sslmode: 'TICKFLOW_DB_SSLMODE',
} as const;

const env = (name: string) => `$${name}`;

/** The tickflow database (market data) and Prometheus (pipeline health). */
export function datasources(): DatasourcesFile {
  return {
    apiVersion: 1,
    datasources: [
      {
        name: 'tickflow',
        uid: POSTGRES.uid,
        type: POSTGRES.type,
        access: 'proxy',
        url: env(DATABASE_VARIABLES.url),
        user: env(DATABASE_VARIABLES.user),
        isDefault: true,
        jsonData: {
          database: env(DATABASE_VARIABLES.database),
          sslmode: env(DATABASE_VARIABLES.sslmode),
          postgresVersion: 1600,
          // The compose stack runs TimescaleDB; the queries use no TimescaleDB function, so plain PostgreSQL works too.
          timescaledb: true,
          maxOpenConns: 5,
        },
        secureJsonData: { password: env(DATABASE_VARIABLES.password) },
        editable: false,
      },
      {
        name: 'Prometheus',
        uid: PROMETHEUS.uid,
        type: PROMETHEUS.type,
        access: 'proxy',
        url: 'http://prometheus:9090',
        isDefault: false,
        jsonData: { timeInterval: '15s' },
        editable: false,
      },
    ],
  };
}

/** Where Grafana finds the dashboard JSON: deploy/grafana/dashboards, mounted at this path. */
export const DASHBOARDS_PATH = '/etc/grafana/dashboards';

export function dashboardProviders(): DashboardProvidersFile {
  return {
    apiVersion: 1,
    providers: [
      {
        name: 'tickflow',
        folder: 'tickflow',
        type: 'file',
        disableDeletion: true,
        allowUiUpdates: false,
        options: { path: DASHBOARDS_PATH, foldersFromFilesStructure: false },
      },
    ],
  };
}
