/**
 * What Grafana's PostgreSQL datasource does to a raw SQL query before sending it (Grafana 11,
 * pkg/tsdb/grafana-postgresql-datasource macros): template variables, `$__interval`, then the
 * macros. Anything left starting with `$` is an unknown macro or variable and throws, so a typo in
 * a panel fails the test instead of reaching the database as text.
 */
export interface QueryContext {
  readonly from: Date;
  readonly to: Date;
  /** What Grafana derives from the range and the panel width; alert queries use the rule's interval. */
  readonly intervalS: number;
  /** Single-value variables are inserted as is, multi-value ones as a quoted, comma-separated list. */
  readonly variables: Readonly<Record<string, string | readonly string[]>>;
}

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

function seconds(interval: string): number {
  const m = /^'?(\d+)([smhd])'?$/.exec(interval.trim());
  if (!m) throw new Error(`unsupported interval ${interval}`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

const quote = (v: string) => `'${v.replaceAll("'", "''")}'`;
const timestamp = (d: Date) => quote(d.toISOString().replace(/\.\d{3}Z$/, 'Z'));

export function expandGrafanaSql(sql: string, ctx: QueryContext): string {
  let out = sql.replaceAll('$__interval_ms', String(ctx.intervalS * 1000)).replaceAll('$__interval', `${ctx.intervalS}s`);
  out = out.replace(/\$(?!__)(\w+)/g, (match, name: string) => {
    const value = ctx.variables[name];
    if (value === undefined) return match;
    return typeof value === 'string' ? value : value.map(quote).join(',');
  });
  out = out
    .replace(/\$__timeFilter\(([^)]+)\)/g, (_m, col: string) => `${col.trim()} BETWEEN ${timestamp(ctx.from)} AND ${timestamp(ctx.to)}`)
    .replace(/\$__timeFrom\(\)/g, timestamp(ctx.from))
    .replace(/\$__timeTo\(\)/g, timestamp(ctx.to))
    .replace(/\$__timeGroup(Alias)?\(([^,)]+),([^)]+)\)/g, (_m, alias: string | undefined, col: string, interval: string) => {
      const s = seconds(interval);
      return `floor(extract(epoch from ${col.trim()})/${s})*${s}${alias ? ' AS "time"' : ''}`;
    });
  const left = /\$\w+/.exec(out);
  if (left) throw new Error(`unexpanded ${left[0]} in: ${sql}`);
  return out;
}
