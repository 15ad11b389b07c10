import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { createSqliteStore } from '../../src/backends/store/sqlite-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import type { SqlRunner } from '../../src/backends/store/sql-runner.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { multiProcessStoreContract, storeContract } from './store.contract.js';

/** Records the SQL text of every statement the store runs (it still runs on the real database). */
function recordStatements(store: SqlStore): string[] {
  const log: string[] = [];
  const wrap = (r: SqlRunner): SqlRunner => ({
    all: (st) => (log.push(st.sql), r.all(st)),
    run: (st) => (log.push(st.sql), r.run(st)),
    transaction: (fn) => r.transaction((tx) => fn(wrap(tx))),
  });
  const runner = store.runner;
  const original: SqlRunner = { all: runner.all.bind(runner), run: runner.run.bind(runner), transaction: runner.transaction.bind(runner) };
  Object.assign(runner, wrap(original));
  return log;
}

describe('SQLite store', () => {
  storeContract(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-store-'));
    const store = createSqliteStore(`sqlite:${path.join(dir, 'parley.db')}`);
    await store.migrate();
    return {
      store,
      statements: recordStatements(store),
      async close() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  });
});

describe.skipIf(!hasPostgres)('PostgreSQL store', () => {
  storeContract(async () => {
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url);
    // The template is migrated already: this must be a no-op.
    await store.migrate();
    return {
      store,
      statements: recordStatements(store),
      async close() {
        await store.close();
        await db.drop();
      },
    };
  });

  describe('two instances on one database (two processes)', () => {
    multiProcessStoreContract(async () => {
      const db = await newPostgresDatabase();
      const s1 = createPostgresStore(db.url);
      const s2 = createPostgresStore(db.url);
      await Promise.all([s1.migrate(), s2.migrate()]);
      return {
        stores: [s1, s2],
        async close() {
          await Promise.all([s1.close(), s2.close()]);
          await db.drop();
        },
      };
    });
  });
});
