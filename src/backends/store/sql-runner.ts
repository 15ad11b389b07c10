/** A compiled statement: Kysely's `.compile()` output or a hand-written one. */
export interface Statement {
  readonly sql: string;
  readonly parameters: readonly unknown[];
  /**
   * Its text is one of a few, whatever its values (its rows in SqlAdapter.valueTable): PostgreSQL
   * keeps it parsed and planned per connection (a named prepared statement) instead of
   * parsing and planning it at every run. SQLite caches every text anyway.
   */
  readonly prepared?: boolean;
  /**
   * The transaction's last statement, after every check that could still roll it back: its
   * COMMIT may go with it (PostgreSQL: in the same round trip, skipped if it fails). Nothing
   * may run in the transaction after it. Ignored in a nested transaction and outside one.
   */
  readonly commits?: boolean;
}

/**
 * The narrow execution seam between the shared SQL store and a database driver.
 * `transaction` runs `fn` with a runner bound to one transaction: committed when `fn`
 * resolves, rolled back when it throws; nothing else runs inside it. `committed`, if given,
 * is called with `fn`'s result right after the COMMIT of an outermost transaction (never of a
 * nested one), before the promise resolves: where the store flushes commits to disk after
 * them (SQLite's WalSync), the write is visible to every reader and survives a killed
 * process, and the promise still resolves only once it is on disk.
 * `snapshot` runs `fn` with a runner bound to one read-only transaction whose reads all see
 * the database as of one moment: what others commit meanwhile is invisible to it.
 */
export interface SqlRunner {
  all<T>(statement: Statement): Promise<T[]>;
  run(statement: Statement): Promise<number>;
  transaction<T>(fn: (tx: SqlRunner) => Promise<T>, committed?: (out: T) => void): Promise<T>;
  /**
   * Runs `statements` in order, in one round trip where the driver can (PostgreSQL: one
   * pipeline, one Sync), and returns each one's rows. The first that fails fails the call, and
   * those after it do not run. Without it, they run one after the other.
   */
  steps?(statements: readonly Statement[]): Promise<unknown[][]>;
  snapshot<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T>;
}

/** `?` placeholders for both databases; PostgreSQL wants `$1…`. */
export function raw(sql: string, parameters: readonly unknown[]): Statement {
  return { sql, parameters };
}

/** A statement whose text does not vary with its values (Statement.prepared). */
export function prepared(sql: string, parameters: readonly unknown[]): Statement {
  return { sql, parameters, prepared: true };
}
