/** A double-quoted SQL identifier; names come from code, quoting keeps reserved words (`interval`) safe. */
export function ident(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** A single-quoted SQL literal, for DDL where parameters are not allowed (partition bounds). */
export function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** Serializes DDL between processes (two roles starting at once); PGlite is one session anyway. */
export const DDL_LOCK_SQL = `SELECT pg_advisory_xact_lock(${0x7469636b})`;

/** One column of a batched insert. */
export interface Column<R> {
  readonly name: string;
  /** PostgreSQL type of the column; the statement's parameter is an array of it. */
  readonly type: string;
  readonly value: (row: R) => unknown;
  /** Part of the natural key (written only on insert by an upsert). */
  readonly key?: boolean;
}

/**
 * `INSERT INTO table (columns) SELECT * FROM unnest($1::type[], …) <conflict>`: a whole batch is one
 * statement with one array parameter per column, whatever the number of rows (parameters from
 * `columnParams`). Table and column names come from code and are quoted.
 */
export function unnestInsert(table: string, columns: readonly Column<never>[], conflict: string): string {
  const names = columns.map((c) => ident(c.name)).join(', ');
  const arrays = columns.map((c, i) => `$${i + 1}::${c.type}[]`).join(', ');
  return `INSERT INTO ${ident(table)} (${names}) SELECT * FROM unnest(${arrays}) ${conflict}`;
}

/** The parameters of an `unnestInsert` statement: per column, the array of every row's value. */
export function columnParams<R>(columns: readonly Column<R>[], rows: readonly R[]): unknown[][] {
  return columns.map((c) => rows.map(c.value));
}

/** `COPY table (columns) FROM STDIN`: the same columns as `unnestInsert`, loaded in COPY's text format (`copyText`). */
export function copyFromStdin(table: string, columns: readonly Column<never>[]): string {
  return `COPY ${ident(table)} (${columns.map((c) => ident(c.name)).join(', ')}) FROM STDIN`;
}

const COPY_SPECIAL = /[\\\n\r\t]/;
const COPY_SPECIAL_ALL = /[\\\n\r\t]/g;
const COPY_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * The rows of `columnParams` arrays in COPY's text format (PostgreSQL manual, COPY, "Text Format"):
 * a tab between columns, a newline after each row, `\N` for null, backslash, newline, carriage
 * return and tab escaped. Values become text as node-postgres sends them in an array (booleans
 * `t`/`f`, numbers via String), so a value the server refuses is refused by either path alike.
 */
export function copyText(params: readonly (readonly unknown[])[]): string {
  const rows = params[0]?.length ?? 0;
  const lines: string[] = new Array<string>(rows);
  for (let r = 0; r < rows; r++) {
    let line = '';
    for (let c = 0; c < params.length; c++) line += (c === 0 ? '' : '\t') + copyValue(params[c]![r]);
    lines[r] = line;
  }
  return rows === 0 ? '' : `${lines.join('\n')}\n`;
}

function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (typeof v === 'string') return COPY_SPECIAL.test(v) ? v.replace(COPY_SPECIAL_ALL, (c) => COPY_ESCAPES[c]!) : v;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  return String(v);
}
