import { createRequire } from 'node:module';
import type pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { Database } from './schema.js';
import type { SqlRunner, Statement } from './sql-runner.js';
import { SqlStore } from './sql-store.js';
import { postgresAdapter } from './sql/adapter.js';
import { LockNotAvailable, NotCommitted, StoreError, UniqueViolation, isStoreErrorCode } from './store.js';

/** The SQLSTATE of parley_refuse_unless (migration 0028). */
const REFUSED = 'PR001';

let pgLoaded: typeof pg | undefined;
/** One step of a PipelineQuery: its text, its prepared statement's name if any, its values. */
interface PipelineStep {
  text: string;
  name: string | undefined;
  values: readonly unknown[];
}
/** pg's Query sending several statements before one Sync (SqlRunner.steps); made with pg. */
let PipelineQuery: (new (steps: readonly PipelineStep[], callback: (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void) => pg.Submittable) | undefined;
/** pg's Query sending a COMMIT in its own Sync (Statement.commits); made with pg. */
let CommittingQuery: (new (config: pg.QueryConfig, values: undefined, callback: (err: Error | null, res: pg.QueryResult | pg.QueryResult[]) => void) => pg.Submittable) | undefined;
/**
 * pg, required at the first PostgreSQL store: a server on SQLite never loads it (it was a
 * tenth of a restart's module loading).
 */
function loadPg(): typeof pg {
  if (pgLoaded) return pgLoaded;
  pgLoaded = createRequire(import.meta.url)('pg') as typeof pg;
  // int8 (ids, seqs, epoch-ms times) as JS numbers: every value Parley stores fits in 2^53.
  pgLoaded.types.setTypeParser(20, (v) => Number.parseInt(v, 10));
  // After the statement's Execute, the COMMIT's Parse/Bind/Execute, then one Sync: PostgreSQL
  // runs the COMMIT only if the statement succeeded (an error skips to the Sync), and answers
  // both in one round trip. Results: [the statement's, the COMMIT's].
  const Query = (pgLoaded as unknown as { Query: new (...a: unknown[]) => { handleError(e: Error, c: unknown): void; handleReadyForQuery(c: unknown): void } }).Query;
  CommittingQuery = class CommittingQuery extends Query {
    _getRows(connection: { execute(c: object): void; parse(c: object): void; bind(c: object): void; sync(): void }, rows?: number) {
      connection.execute({ portal: (this as unknown as { portal: string }).portal, rows });
      connection.parse({ text: 'COMMIT', name: '' });
      connection.bind({});
      connection.execute({});
      connection.sync();
    }
  } as unknown as typeof CommittingQuery;
  // Parse (once per connection for a named statement), Bind, Describe and Execute of each
  // step, then one Sync: PostgreSQL answers every step in order and, at the first error,
  // skips the rest. pg's client tracks one named statement per query, so the steps' are
  // tracked here: a name is parsed on the connection once its ParseComplete arrives (an error
  // after it, a lock wait given up, leaves it parsed).
  type Connection = {
    parsedStatements: Record<string, string>;
    parse(c: object): void;
    bind(c: object): void;
    describe(c: object): void;
    execute(c: object): void;
    sync(): void;
    on(event: string, f: () => void): void;
    off(event: string, f: () => void): void;
  };
  const prepareValue = (createRequire(import.meta.url)('pg/lib/utils.js') as { prepareValue: (v: unknown) => unknown }).prepareValue;
  PipelineQuery = class PipelineQuery extends Query {
    /** Read by tests that record what was sent. */
    readonly steps: readonly PipelineStep[];
    #parsing: PipelineStep[] = [];
    #connection: Connection | undefined;
    #onParsed = () => {
      const step = this.#parsing.shift();
      if (step?.name !== undefined && this.#connection) this.#connection.parsedStatements[step.name] = step.text;
    };
    constructor(steps: readonly PipelineStep[], callback: (err: Error | null, res: unknown) => void) {
      super({ text: steps.map((s) => s.text).join('; '), callback });
      this.steps = steps;
    }
    requiresPreparation() {
      return true;
    }
    prepare(connection: Connection) {
      this.#connection = connection;
      connection.on('parseComplete', this.#onParsed);
      for (const step of this.steps) {
        if (step.name === undefined || connection.parsedStatements[step.name] === undefined) {
          connection.parse({ text: step.text, name: step.name ?? '' });
          this.#parsing.push(step);
        }
        connection.bind({ statement: step.name ?? '', values: step.values, valueMapper: prepareValue });
        connection.describe({ type: 'P', name: '' });
        connection.execute({ portal: '' });
      }
      connection.sync();
    }
    #done() {
      this.#connection?.off('parseComplete', this.#onParsed);
    }
    override handleError(err: Error, connection: Connection) {
      this.#done();
      super.handleError(err, connection);
    }
    override handleReadyForQuery(connection: Connection) {
      this.#done();
      super.handleReadyForQuery(connection);
    }
  } as unknown as typeof PipelineQuery;
  return pgLoaded;
}

/** `?` → `$n`, cached per statement text (every text here is a fixed template). */
const converted = new Map<string, string>();
function pgText(sql: string): string {
  let out = converted.get(sql);
  if (out === undefined) {
    if (sql.includes('$1')) out = sql; // already compiled by Kysely's PostgreSQL compiler
    else {
      let n = 0;
      out = sql.replace(/\?/g, () => `$${++n}`);
    }
    if (converted.size > 5000) converted.clear();
    converted.set(sql, out);
  }
  return out;
}

/**
 * Names of prepared statements (Statement.prepared), by text: pg parses a named statement once
 * per connection and then only binds it, and PostgreSQL settles on a generic plan after a few
 * runs. Bounded: each name is a statement kept on every connection that ran it.
 */
const preparedNames = new Map<string, string>();
export const MAX_PREPARED = 200;
/** Exported for its test: a text's name, or undefined once MAX_PREPARED texts have one (it then runs unnamed). */
export function preparedName(text: string): string | undefined {
  let name = preparedNames.get(text);
  if (name === undefined && preparedNames.size < MAX_PREPARED) preparedNames.set(text, (name = `parley_${preparedNames.size + 1}`));
  return name;
}

function translate(e: unknown): unknown {
  const err = e as { code?: string; constraint?: string };
  if (err?.code === '23505') return new UniqueViolation(err.constraint ?? 'unique');
  if (err?.code === '55P03') return new LockNotAvailable();
  // A statement's own refusal (parley_refuse_unless, migration 0028): its reason is a StoreError's code.
  const reason = (e as Error)?.message;
  if (err?.code === REFUSED && isStoreErrorCode(reason)) return new StoreError(reason);
  return e;
}

/** The session is gone (ended by the server, or the socket closed), not a statement refused. */
function lostConnection(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  if (err?.code === '25P03' || err?.code === '57P01' || err?.code === '57P02' || err?.code === '57P03') return true;
  if (err?.code === 'ECONNRESET' || err?.code === 'EPIPE' || err?.code === 'ETIMEDOUT') return true;
  return /Connection terminated|Client has encountered a connection error|not queryable/i.test(err?.message ?? '');
}

/**
 * The session was gone before a statement reached it: the server had ended it for idling in its
 * transaction (it was running nothing), or pg knew it dead and sent nothing. A lost connection
 * after a COMMIT went out (Statement.commits) is otherwise no proof that nothing committed.
 */
function endedBeforeSent(e: unknown): boolean {
  const err = e as { code?: string; message?: string };
  return err?.code === '25P03' || /not queryable/i.test(err?.message ?? '');
}

interface Queryable {
  query(text: string, values: unknown[]): Promise<pg.QueryResult>;
  query(config: pg.QueryConfig): Promise<pg.QueryResult>;
}

class PostgresRunner implements SqlRunner {
  /**
   * A transaction's BEGIN not sent yet: it goes with the first statement, in the same round
   * trip when that statement has no parameters (a simple query may hold several statements;
   * the append's first, the conversations' lock, has none). A round trip is a socket write and
   * a wake-up of the backend and of this process, ~10% of an append's.
   */
  #beginPending: boolean;
  /** The COMMIT went with a statement (Statement.commits): the transaction is over. */
  #commitSent = false;
  /** transaction() calls running inside this runner's own: their statements must not commit it. */
  #nested = 0;

  constructor(
    readonly pool: pg.Pool,
    /** Whether Statement.prepared ones run as named prepared statements (PG_PREPARED_STATEMENTS). */
    readonly prepare: boolean,
    readonly client?: pg.PoolClient,
    beginPending = false,
    /** This runner is a transaction()'s, whose COMMIT a Statement.commits may carry. */
    readonly ownsTransaction = false,
  ) {
    this.#beginPending = beginPending;
  }

  get begun(): boolean {
    return !this.#beginPending;
  }

  get commitSent(): boolean {
    return this.#commitSent;
  }

  #refuseAfterCommit(): void {
    if (this.#commitSent) throw new Error('a statement after its transaction committed (Statement.commits)');
  }

  async #query(s: Statement): Promise<pg.QueryResult> {
    this.#refuseAfterCommit();
    const params = s.parameters as unknown[];
    const text = pgText(s.sql);
    // One round trip fewer for the append: its rows stay locked one round trip less.
    const commits = s.commits === true && this.ownsTransaction && this.#nested === 0;
    if (commits) this.#commitSent = true;
    if (this.#beginPending) {
      this.#beginPending = false;
      if (params.length === 0) return this.#simple(`BEGIN; ${text}`, commits);
      await this.client!.query('BEGIN');
    }
    const name = s.prepared && this.prepare ? preparedName(text) : undefined;
    if (commits) {
      if (params.length === 0 && name === undefined) return this.#simple(text, true);
      return new Promise((resolve, reject) => {
        this.client!.query(new CommittingQuery!({ name, text, values: params }, undefined, (err, res) => (err ? reject(err) : resolve(Array.isArray(res) ? res[0] : res))));
      });
    }
    if (name !== undefined) return this.#q.query({ name, text, values: params });
    const out = (await this.#q.query(text, params)) as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(out) ? out[out.length - 1] : out;
  }

  /** A simple query of one or more statements, and the COMMIT after them if `commits`: pg answers with one result each; the caller's is the last of `text`. */
  async #simple(text: string, commits: boolean): Promise<pg.QueryResult> {
    const out = (await this.client!.query(commits ? `${text}; COMMIT` : text)) as unknown as pg.QueryResult | pg.QueryResult[];
    return Array.isArray(out) ? out[out.length - (commits ? 2 : 1)] : out;
  }

  async steps(statements: readonly Statement[]): Promise<unknown[][]> {
    this.#refuseAfterCommit();
    if (!this.client) throw new Error('steps run inside a transaction');
    const steps: PipelineStep[] = statements.map((s) => {
      const text = pgText(s.sql);
      return { text, name: s.prepared && this.prepare ? preparedName(text) : undefined, values: s.parameters };
    });
    const begin = this.#beginPending;
    if (begin) {
      this.#beginPending = false;
      steps.unshift({ text: 'BEGIN', name: undefined, values: [] });
    }
    // The last step is the transaction's (Statement.commits): its COMMIT goes in the same
    // pipeline, and PostgreSQL runs it only if every step before it succeeded.
    const commits = statements.at(-1)?.commits === true && this.ownsTransaction && this.#nested === 0;
    if (commits) {
      this.#commitSent = true;
      steps.push({ text: 'COMMIT', name: undefined, values: [] });
    }
    try {
      const out = await new Promise<pg.QueryResult | pg.QueryResult[]>((resolve, reject) => {
        this.client!.query(new PipelineQuery!(steps, (err, res) => (err ? reject(err) : resolve(res))));
      });
      const results = Array.isArray(out) ? out : [out];
      return results.slice(begin ? 1 : 0, commits ? -1 : undefined).map((r) => r.rows);
    } catch (e) {
      // PostgreSQL answered with an error: the steps after it, the COMMIT with them, were
      // skipped (or the COMMIT itself failed, which ends the transaction): nothing committed,
      // and the transaction goes on to its ROLLBACK (or a ROLLBACK TO SAVEPOINT). A lost
      // connection proves neither.
      if (commits && !lostConnection(e)) this.#commitSent = false;
      throw translate(e);
    }
  }

  get #q(): Queryable {
    return (this.client ?? this.pool) as Queryable;
  }

  async all<T>(s: Statement): Promise<T[]> {
    try {
      return (await this.#query(s)).rows as T[];
    } catch (e) {
      throw translate(e);
    }
  }

  async run(s: Statement): Promise<number> {
    try {
      return (await this.#query(s)).rowCount ?? 0;
    } catch (e) {
      throw translate(e);
    }
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>, committed?: (out: T) => void): Promise<T> {
    if (this.client) {
      this.#nested++;
      try {
        return await fn(this);
      } finally {
        this.#nested--;
      }
    }
    const client = await this.pool.connect();
    let committing = false;
    let broken = false;
    const tx = new PostgresRunner(this.pool, this.prepare, client, true, true);
    try {
      const out = await fn(tx);
      committing = true;
      // Nothing was run: there is nothing to commit either. Or it went with the last statement.
      if (tx.begun && !tx.commitSent) await client.query('COMMIT');
      committed?.(out);
      return out;
    } catch (e) {
      broken = lostConnection(e);
      // Harmless where the COMMIT went out already: PostgreSQL skipped it, or it failed.
      if (!broken) await client.query('ROLLBACK').catch(() => {});
      // The session died before COMMIT was sent (the server ended it: this process was
      // stopped past idle_in_transaction_session_timeout, or the network was cut): nothing
      // of it was committed, so the caller may run it again on a fresh connection.
      if (broken && !committing && (!tx.commitSent || endedBeforeSent(e))) throw new NotCommitted(e);
      throw e;
    } finally {
      // A dead connection is not handed out again.
      client.release(broken ? true : undefined);
    }
  }

  async snapshot<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    // Inside a transaction already: its reads are what the caller asked to be consistent with.
    if (this.client) return fn(this);
    const client = await this.pool.connect();
    try {
      // REPEATABLE READ takes its snapshot at the first statement and keeps it to the end;
      // READ COMMITTED would take a new one for every statement.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const out = await fn(new PostgresRunner(this.pool, this.prepare, client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
    }
  }
}

/**
 * Bounds on what one stuck session can hold up (a process stopped mid-transaction, a network
 * cut): without them its row locks stay until the kernel's TCP keepalive gives up, hours later.
 */
export interface PostgresOptions {
  /** PG_LOCK_WAIT_MS: an append waits this long for a conversation held elsewhere, then commits the rest without it. */
  lockWaitMs?: number;
  /** PG_LOCK_TIMEOUT_MS: any other statement gives up waiting for a lock after this. */
  lockTimeoutMs?: number;
  /** PG_STATEMENT_TIMEOUT_MS: a statement running longer is cancelled. */
  statementTimeoutMs?: number;
  /** PG_IDLE_IN_TRANSACTION_TIMEOUT_MS: the server ends a session idle this long inside a transaction, freeing its locks. */
  idleInTransactionTimeoutMs?: number;
  /** PG_POOL_SIZE: connections this process opens at most. */
  poolSize?: number;
  /** PG_POOL_IDLE_MS: an idle connection is closed after this. */
  poolIdleMs?: number;
  /**
   * PG_PREPARED_STATEMENTS (default on): the append's fixed statements are prepared once per
   * connection. Off for a pooler that hands one session's statements to another (PgBouncer in
   * transaction mode before 1.21, or with max_prepared_statements = 0).
   */
  preparedStatements?: boolean;
}

export const POSTGRES_DEFAULTS = { lockWaitMs: 200, lockTimeoutMs: 10_000, statementTimeoutMs: 30_000, idleInTransactionTimeoutMs: 10_000, poolSize: 10, poolIdleMs: 10_000, preparedStatements: true } as const;

export function createPostgresStore(url: string, options: PostgresOptions = {}): SqlStore {
  const o = { ...POSTGRES_DEFAULTS, ...options };
  const pool = new (loadPg().Pool)({
    connectionString: url,
    max: o.poolSize,
    idleTimeoutMillis: o.poolIdleMs,
    // A dead server or a cut network is noticed in about half a minute, not the kernel's two hours.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // Session settings at connection start: no extra round trip. The server side probes the
    // client too, so a session whose process vanished is ended and its locks freed.
    options: [
      `-c lock_timeout=${o.lockTimeoutMs}`,
      `-c statement_timeout=${o.statementTimeoutMs}`,
      `-c idle_in_transaction_session_timeout=${o.idleInTransactionTimeoutMs}`,
      '-c tcp_keepalives_idle=10',
      '-c tcp_keepalives_interval=5',
      '-c tcp_keepalives_count=3',
    ].join(' '),
  });
  pool.on('error', () => {}); // an idle client's lost connection is replaced on next use
  // A checked-out client whose session the server ends (idle_in_transaction_session_timeout)
  // emits 'error' between queries; unheard, that would crash the process. The failure
  // reaches the transaction through its next query instead.
  pool.on('connect', (client) => client.on('error', () => {}));
  const kysely = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return new SqlStore(
    postgresAdapter,
    kysely,
    new PostgresRunner(pool, o.preparedStatements),
    async () => {
      await kysely.destroy().catch(() => {});
    },
    o.lockWaitMs,
  );
}
