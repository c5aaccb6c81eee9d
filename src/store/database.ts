/**
 * The storage seam: a PostgreSQL connection, embedded (PGlite) or a server. Both speak the same
 * SQL, so every writer and query in tickflow is written once.
 */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<R[]>;
  /**
   * Runs `sql` (`COPY … FROM STDIN`) with `text` as its data (COPY text format, store/sql.ts
   * copyText); returns the rows copied. Offered where the connection speaks the COPY
   * sub-protocol (a PostgreSQL server's transaction); errors as `query`'s.
   */
  copyFrom?(sql: string, text: string): Promise<number>;
}

/**
 * The store seam: the embedded PostgreSQL or a PostgreSQL server, queried with parameters, with
 * transactions, a readiness ping and close. Failures are StoreErrors (toStoreError).
 */
export interface Database extends Queryable {
  readonly kind: 'embedded' | 'postgres';
  /** Runs `fn` in one transaction; rolls back when it throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Cheap round trip for readiness checks. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
