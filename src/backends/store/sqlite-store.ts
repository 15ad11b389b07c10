import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { DB } from './schema.js';
import type { SqlRunner, Statement } from './sql-runner.js';
import { SqlStore } from './sql-store.js';
import { UniqueViolation } from './store.js';

/**
 * better-sqlite3 is synchronous, so a statement never interleaves with another; only a
 * transaction whose body awaits needs a lock, which `#locked` provides: while one is open,
 * every other statement waits for it instead of landing inside it.
 */
class SqliteRunner implements SqlRunner {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  #locked: Promise<void> | null = null;
  readonly #inner: SqlRunner;

  constructor(db: Database.Database) {
    this.#db = db;
    const self = this;
    this.#inner = {
      all: async <T>(s: Statement) => self.#all<T>(s),
      run: async (s: Statement) => self.#run(s),
      transaction: (fn) => fn(self.#inner),
    };
  }

  #prepare(sql: string): Database.Statement {
    let st = this.#statements.get(sql);
    if (!st) {
      st = this.#db.prepare(sql);
      if (this.#statements.size > 2000) this.#statements.clear();
      this.#statements.set(sql, st);
    }
    return st;
  }

  #all<T>(s: Statement): T[] {
    const st = this.#prepare(s.sql);
    try {
      return (st.reader ? st.all(...(s.parameters as unknown[])) : (st.run(...(s.parameters as unknown[])), [])) as T[];
    } catch (e) {
      throw translate(e, this.#db);
    }
  }

  #run(s: Statement): number {
    try {
      return this.#prepare(s.sql).run(...(s.parameters as unknown[])).changes;
    } catch (e) {
      throw translate(e, this.#db);
    }
  }

  async all<T>(s: Statement): Promise<T[]> {
    while (this.#locked) await this.#locked;
    return this.#all<T>(s);
  }

  async run(s: Statement): Promise<number> {
    while (this.#locked) await this.#locked;
    return this.#run(s);
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    while (this.#locked) await this.#locked;
    let release!: () => void;
    this.#locked = new Promise<void>((r) => (release = r));
    try {
      this.#db.exec('BEGIN IMMEDIATE');
      const out = await fn(this.#inner);
      this.#db.exec('COMMIT');
      return out;
    } catch (e) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw e;
    } finally {
      this.#locked = null;
      release();
    }
  }
}

function translate(e: unknown, db: Database.Database): unknown {
  const err = e as { code?: string; message?: string };
  if (err?.code === 'SQLITE_CONSTRAINT_UNIQUE' || err?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY') {
    // "UNIQUE constraint failed: users.tenant_id, users.email"
    const cols = /failed: (.*)$/.exec(err.message ?? '')?.[1] ?? 'unique';
    return new UniqueViolation(uniqueIndexName(db, cols) ?? cols.replace(/\s/g, ''));
  }
  return e;
}

/**
 * The unique index on exactly these columns ("users.tenant_id, users.email" →
 * "users_tenant_email"): PostgreSQL reports index names, and the Store contract names them.
 */
function uniqueIndexName(db: Database.Database, cols: string): string | undefined {
  const parts = cols.split(',').map((c) => c.trim().split('.'));
  const table = parts[0]?.[0];
  if (!table || parts.some((p) => p.length !== 2 || p[0] !== table)) return undefined;
  const wanted = parts.map((p) => p[1]).join(',');
  try {
    for (const ix of db.pragma(`index_list(${JSON.stringify(table)})`) as { name: string; unique: number }[]) {
      if (!ix.unique) continue;
      const ixCols = (db.pragma(`index_info(${JSON.stringify(ix.name)})`) as { name: string }[]).map((c) => c.name).join(',');
      if (ixCols === wanted) return ix.name;
    }
  } catch {
    // Only a nicer name is lost.
  }
  return undefined;
}

/** `sqlite:/abs.db`, `sqlite:///abs.db`, `sqlite:./rel.db`, `sqlite:rel.db`, `sqlite::memory:`. */
export function sqliteFilename(url: string): string {
  let rest = url.replace(/^sqlite:/, '');
  if (rest === ':memory:') return rest;
  if (rest.startsWith('//')) rest = rest.slice(2); // sqlite:///abs → /abs
  return path.resolve(rest);
}

export function createSqliteStore(url: string): SqlStore {
  const file = sqliteFilename(url);
  if (file !== ':memory:') mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  // WAL + synchronous=FULL: every acknowledged commit survives power loss; group commit
  // (core/messages/writer.ts) keeps that from costing one fsync per message.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('busy_timeout = 5000');
  // A multi-row INSERT's statement journal otherwise spills to a temp file on every commit.
  db.pragma('temp_store = MEMORY');
  const kysely = new Kysely<DB>({ dialect: new SqliteDialect({ database: db }) });
  return new SqlStore('sqlite', kysely, new SqliteRunner(db), async () => {
    await kysely.destroy().catch(() => {});
    if (db.open) db.close();
  });
}
