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
