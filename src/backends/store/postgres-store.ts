import pg from 'pg';
import { Kysely, PostgresDialect } from 'kysely';
import type { DB } from './schema.js';
import type { SqlRunner, Statement } from './sql-runner.js';
import { SqlStore } from './sql-store.js';
import { UniqueViolation } from './store.js';

// int8 (ids, seqs, epoch-ms times) as JS numbers: every value Parley stores fits in 2^53.
pg.types.setTypeParser(20, (v) => Number.parseInt(v, 10));

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

function translate(e: unknown): unknown {
  const err = e as { code?: string; constraint?: string };
  if (err?.code === '23505') return new UniqueViolation(err.constraint ?? 'unique');
  return e;
}

interface Queryable {
  query(text: string, values: unknown[]): Promise<pg.QueryResult>;
}

class PostgresRunner implements SqlRunner {
  constructor(
    readonly pool: pg.Pool,
    readonly client?: pg.PoolClient,
  ) {}

  get #q(): Queryable {
    return (this.client ?? this.pool) as Queryable;
  }

  async all<T>(s: Statement): Promise<T[]> {
    try {
      return (await this.#q.query(pgText(s.sql), s.parameters as unknown[])).rows as T[];
    } catch (e) {
      throw translate(e);
    }
  }

  async run(s: Statement): Promise<number> {
    try {
      return (await this.#q.query(pgText(s.sql), s.parameters as unknown[])).rowCount ?? 0;
    } catch (e) {
      throw translate(e);
    }
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    if (this.client) return fn(this);
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await fn(new PostgresRunner(this.pool, client));
      await client.query('COMMIT');
      return out;
    } catch (e) {
      await client.query('ROLLBACK').catch(() => {});
      throw e;
    } finally {
      client.release();
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
      const out = await fn(new PostgresRunner(this.pool, client));
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

export function createPostgresStore(url: string, poolSize = 10): SqlStore {
  const pool = new pg.Pool({ connectionString: url, max: poolSize });
  pool.on('error', () => {}); // an idle client's lost connection is replaced on next use
  const kysely = new Kysely<DB>({ dialect: new PostgresDialect({ pool }) });
  return new SqlStore('postgres', kysely, new PostgresRunner(pool), async () => {
    await kysely.destroy().catch(() => {});
  });
}
