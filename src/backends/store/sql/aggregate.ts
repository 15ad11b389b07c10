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

/** The rows of a Kysely query, typed by its selection, run on `runner`. */
export function rowsOf<O>(runner: SqlRunner, q: Compilable<O>): Promise<O[]> {
  return runner.all<O>(q.compile());
}

/**
 * The base of each sub-store: a Kysely query comes back typed by its selection; a hand-written
 * statement is given its row type where it is run (`unknown` otherwise).
 */
export abstract class SqlAggregate {
  constructor(protected readonly ctx: SqlContext) {}

  protected get db(): Kysely<Database> {
    return this.ctx.db;
  }

  protected get runner(): SqlRunner {
    return this.ctx.runner;
  }

  protected get adapter(): SqlAdapter {
    return this.ctx.adapter;
  }

  protected all<O>(q: Compilable<O> | Statement, r: SqlRunner = this.ctx.runner): Promise<O[]> {
    return r.all<O>('compile' in q ? q.compile() : q);
  }

  protected async first<O>(q: Compilable<O> | Statement, r: SqlRunner = this.ctx.runner): Promise<O | undefined> {
    return (await this.all<O>(q, r))[0];
  }
}
