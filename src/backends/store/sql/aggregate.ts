import type { CompiledQuery, Kysely } from 'kysely';
import type { Database } from '../schema.js';
import type { SqlRunner, Statement } from '../sql-runner.js';
import type { SqlAdapter } from './adapter.js';
import type { OutboxSwitch } from './outbox.js';

/** What every sub-store works with: the database's differences, the query builder, the runner. */
export interface SqlContext {
  readonly adapter: SqlAdapter;
  readonly db: Kysely<Database>;
  /** Read at each call, never kept: tests wrap its methods to record statements. */
  readonly runner: SqlRunner;
  /** Whether changes log their events (sql/outbox.ts); on when absent. */
  readonly outbox?: OutboxSwitch;
}

/** A Kysely query, whose rows are typed by what it selects. */
export interface Compilable<O> {
  compile(): CompiledQuery<O>;
}

/** A statement whose rows are typed (the phantom `rowType` is never set). */
export interface TypedStatement<O> extends Statement {
  readonly rowType?: O;
}

/** The rows of a Kysely query, typed by its selection, run on `runner`. */
export function rowsOf<O>(runner: SqlRunner, q: Compilable<O>): Promise<O[]> {
  return runner.all<O>(q.compile());
}

/** `fixed` queries' SQL per adapter (its dialect) and sub-store class (names are a sub-store's own), for every store on it. */
const FIXED_SQL = new WeakMap<SqlAdapter, WeakMap<object, Map<string, string>>>();

/**
 * The base of each sub-store: a Kysely query comes back typed by its selection; a hand-written
 * statement is given its row type where it is run (`unknown` otherwise).
 */
export abstract class SqlAggregate {
  /**
   * The SQL of `fixed` queries by name, compiled at their first call. Shared by
   * every store on the same adapter: a snapshot or a transaction gets a store of its own
   * (SqlStore.snapshot), and a reconnect storm takes one snapshot per socket.
   */
  readonly #fixed: Map<string, string>;

  constructor(protected readonly ctx: SqlContext) {
    let byPart = FIXED_SQL.get(ctx.adapter);
    if (!byPart) FIXED_SQL.set(ctx.adapter, (byPart = new WeakMap()));
    let mine = byPart.get(this.constructor);
    if (!mine) byPart.set(this.constructor, (mine = new Map()));
    this.#fixed = mine;
  }

  /**
   * A query whose shape never changes (no IN list, no optional clause), built by Kysely once:
   * later calls reuse its SQL with their own `parameters`, which must be what the built query
   * binds, in order. Building and compiling costs more than running a point read in SQLite:
   * a reconnect storm authenticates and resumes with a dozen of them per socket. Should the
   * first build bind anything else, the query is simply built at every call.
   */
  protected fixed<O>(name: string, parameters: readonly unknown[], build: () => Compilable<O>): TypedStatement<O> {
    const known = this.#fixed.get(name);
    if (known !== undefined) return { sql: known, parameters };
    const compiled = build().compile();
    const same = compiled.parameters.length === parameters.length && compiled.parameters.every((p, i) => p === parameters[i]);
    // A long IN list is rare and would keep a long string per length.
    if (same && parameters.length <= 64) this.#fixed.set(name, compiled.sql);
    return compiled;
  }

  protected get db(): Kysely<Database> {
    return this.ctx.db;
  }

  protected get runner(): SqlRunner {
    return this.ctx.runner;
  }

  protected get adapter(): SqlAdapter {
    return this.ctx.adapter;
  }

  protected all<O>(q: Compilable<O> | TypedStatement<O>, r: SqlRunner = this.ctx.runner): Promise<O[]> {
    return r.all<O>('compile' in q ? q.compile() : q);
  }

  protected async first<O>(q: Compilable<O> | TypedStatement<O>, r: SqlRunner = this.ctx.runner): Promise<O | undefined> {
    return (await this.all<O>(q, r))[0];
  }
}
