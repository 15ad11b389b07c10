import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { createSqliteStore } from '../../src/backends/store/sqlite-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { CachedStore } from '../../src/backends/store/cached-store.js';
import { raw, type SqlRunner, type Statement } from '../../src/backends/store/sql-runner.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { curationContract } from './curation.contract.js';
import { moderationContract } from './moderation.contract.js';
import { boundedMessageAccess, multiProcessStoreContract, storeContract, type StoreHandle } from './store.contract.js';

/**
 * Records every statement the store runs (it still runs on the real database): the SQL texts
 * for the contract's "no OFFSET, no COUNT" check, and `plans` to explain what one call ran.
 */
/** What the contract gets of a store: it, its statements, and a close that also removes its database. */
function handle(store: SqlStore, removeDatabase: () => void | Promise<void>): StoreHandle {
  return {
    store,
    ...recordStatements(store),
    async close() {
      await store.close();
      await removeDatabase();
    },
  };
}

function recordStatements(store: SqlStore): Pick<StoreHandle, 'statements' | 'plans'> {
  const log: string[] = [];
  let capture: Statement[] | null = null;
  const note = (st: Statement) => {
    log.push(st.sql);
    capture?.push(st);
  };
  const wrap = (r: SqlRunner): SqlRunner => ({
    all: (st) => (note(st), r.all(st)),
    run: (st) => (note(st), r.run(st)),
    transaction: (fn) => r.transaction((tx) => fn(wrap(tx))),
    snapshot: (fn) => r.snapshot((tx) => fn(wrap(tx))),
  });
  const runner = store.runner;
  const original: SqlRunner = {
    all: runner.all.bind(runner),
    run: runner.run.bind(runner),
    transaction: runner.transaction.bind(runner),
    snapshot: runner.snapshot.bind(runner),
  };
  Object.assign(runner, wrap(original));
  const explain = async (st: Statement): Promise<string> => {
    if (store.dialect === 'sqlite') {
      const rows = await original.all<{ detail: string }>(raw(`EXPLAIN QUERY PLAN ${st.sql}`, st.parameters));
      return rows.map((r) => r.detail).join('\n');
    }
    // Priced out, not forbidden: a statement no index can serve still plans as a Seq Scan.
    // With statistics, as autovacuum keeps them on a live database.
    await original.run(raw('ANALYZE messages', []));
    return original.transaction(async (tx) => {
      await tx.run(raw('SET LOCAL enable_seqscan = off', []));
      const rows = await tx.all<{ 'QUERY PLAN': string }>(raw(`EXPLAIN ${st.sql}`, st.parameters));
      return rows.map((r) => r['QUERY PLAN']).join('\n');
    });
  };
  return {
    statements: log,
    async plans(fn) {
      const ran: Statement[] = (capture = []);
      try {
        await fn();
      } finally {
        capture = null;
      }
      const reads = ran.filter((st) => /\bmessages\b/i.test(st.sql) && /^\s*(select|with)\b/i.test(st.sql));
      const out = [];
      for (const st of reads) out.push({ sql: st.sql, plan: await explain(st) });
      return out;
    },
  };
}

it('the plan check tells a bounded read of messages from one that grows with the table or the conversation', () => {
  const cases: [string, boolean][] = [
    ['SEARCH messages USING INDEX messages_conversation_seq (conversation_id=? AND seq>? AND seq<?)', true],
    ['SEARCH c USING INTEGER PRIMARY KEY (rowid=?)\nSEARCH m USING INDEX messages_conversation_seq (conversation_id=? AND seq=?)', true],
    ['SCAN messages', false],
    ['SCAN m', false],
    ['SEARCH m USING INDEX messages_conversation_change (conversation_id=?)', false],
    ["Index Scan Backward using messages_conversation_seq on messages  (cost=0.14..8.16 rows=1 width=764)\n  Index Cond: ((conversation_id = '1'::bigint) AND (seq >= '1'::bigint))", true],
    ['Seq Scan on messages  (cost=0.00..1.01 rows=1 width=764)', false],
    ['Nested Loop\n  ->  Index Scan using messages_conversation_change on messages m  (cost=0.14..8.16 rows=1 width=764)\n        Index Cond: (conversation_id = c.id)\n        Filter: (c.last_seq = seq)', false],
  ];
  for (const [plan, bounded] of cases) expect(boundedMessageAccess(plan), plan).toBe(bounded);
});

/** A fresh migrated SQLite store in a directory of its own, removed on close (writes on the event loop's connection, the default). */
async function sqliteStore(): Promise<StoreHandle> {
  return sqliteStoreWith(false);
}

/** The same with SQLITE_WRITER=thread: writes and transactions on the writer thread's connection. */
async function sqliteStoreWithWriterThread(): Promise<StoreHandle> {
  return sqliteStoreWith(true);
}

async function sqliteStoreWith(writerThread: boolean): Promise<StoreHandle> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-store-'));
  const store = createSqliteStore(`sqlite:${path.join(dir, 'parley.db')}`, { writerThread });
  await store.migrate();
  return handle(store, () => rmSync(dir, { recursive: true, force: true }));
}

/** A fresh PostgreSQL store on a database of its own, dropped on close. */
async function postgresStore(): Promise<StoreHandle> {
  const db = await newPostgresDatabase();
  const store = createPostgresStore(db.url);
  // The template is migrated already: this must be a no-op.
  await store.migrate();
  return handle(store, db.drop);
}

/** `open()`'s store behind a CachedStore (one process: a LocalInvalidator); statements still recorded below it. */
const cachedOver = (open: () => Promise<StoreHandle>) => async (): Promise<StoreHandle> => {
  const h = await open();
  return { ...h, store: new CachedStore(h.store) };
};

describe('SQLite store', () => {
  storeContract(sqliteStore);
  curationContract(sqliteStore);
  moderationContract(sqliteStore);
});

describe('SQLite store, writes on their thread (SQLITE_WRITER=thread)', () => {
  storeContract(sqliteStoreWithWriterThread);
});

describe('CachedStore over SQLite', () => {
  storeContract(cachedOver(sqliteStore));
});

describe.skipIf(!hasPostgres)('PostgreSQL store', () => {
  storeContract(postgresStore);
  curationContract(postgresStore);
  moderationContract(postgresStore);

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

describe.skipIf(!hasPostgres)('CachedStore over PostgreSQL', () => {
  storeContract(cachedOver(postgresStore));
});
