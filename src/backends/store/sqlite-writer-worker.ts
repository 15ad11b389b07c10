// The SQLite writer's thread (sqlite-store.ts, SqliteWriter): its own connection to the database
// file runs every write and every statement of a transaction, one request at a time, in the
// order they were posted. The main thread keeps its connection for reads, so the B-tree and
// page work of a group commit (the inserts, their index updates, the COMMIT's WAL writes)
// runs beside the event loop instead of in it. A whole append (Store.appendMessages: its
// retry lookup, transaction and commit) is one request, run here by the same SqlAppend as
// on the main thread, so its dozen statements cost the event loop one message each way.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database as Tables } from './schema.js';
import { SqliteRunner, WalSync } from './sqlite-store.js';
import { SqlStore } from './sql-store.js';
import { sqliteAdapter } from './sql/adapter.js';
import { StoreError, UniqueViolation, type AppendOptions, type AppendOutcome, type NewMessage } from './store.js';

export interface WriterWorkerData {
  file: string;
  /** Run once when the connection opens, in order (`synchronous = NORMAL`, …). */
  pragmas: string[];
  /** The WAL file an append flushes before it is answered (the thread exists only in WAL mode). */
  wal: string;
}

/** What the main thread asks for; each request carries an `id` its reply repeats. */
export type WriterCall =
  | { op: 'all' | 'run'; sql: string; params: readonly unknown[] }
  | { op: 'exec' | 'pragma'; sql: string }
  /** ROLLBACK if a transaction is open (a failed COMMIT may have ended it already). */
  | { op: 'rollback' }
  /** Store.appendMessages in a transaction of its own, with the store's switches as they are now. */
  | { op: 'append'; batch: readonly NewMessage[]; opts: AppendOptions; searchIndex: boolean; outbox: boolean }
  | { op: 'close' };

export type WriterRequest = WriterCall & { id: number };

export interface WriterReply {
  id: number;
  rows?: unknown[];
  changes?: number;
  outcomes?: AppendOutcome[];
  /** An append's outcomes come at its commit; this follows once the commit is on disk. */
  onDisk?: true;
  error?: WriterError;
}

/** An error as it crosses to the main thread: the store's own kinds keep what callers test. */
export interface WriterError {
  message: string;
  code?: string;
  /** UniqueViolation's index name. */
  constraint?: string;
  /** StoreError's code. */
  storeCode?: StoreError['code'];
}

const port = parentPort!;
const { file, pragmas, wal: walPath } = workerData as WriterWorkerData;
const db = new Database(file);
for (const p of pragmas) db.pragma(p);
// One runner over this connection for the main thread's statements and the appends' store
// alike (one statement cache; a unique violation comes back as the store's UniqueViolation).
// It writes directly: a statement's caller flushes the WAL, an append is flushed here.
const runner = new SqliteRunner(db, null);
const wal = new WalSync(walPath);
const store = new SqlStore(sqliteAdapter, new Kysely<Tables>({ dialect: new SqliteDialect({ database: db }) }), runner, async () => {});

async function answer(m: WriterRequest): Promise<WriterReply> {
  switch (m.op) {
    case 'append':
      store.append.searchIndex = m.searchIndex;
      store.outbox.enabled = m.outbox;
      return { id: m.id, outcomes: await store.appendMessages(m.batch, m.opts) };
    case 'all':
      return { id: m.id, rows: await runner.all({ sql: m.sql, parameters: m.params }) };
    case 'run':
      return { id: m.id, changes: await runner.run({ sql: m.sql, parameters: m.params }) };
    case 'exec':
      db.exec(m.sql);
      return { id: m.id };
    case 'pragma':
      db.pragma(m.sql);
      return { id: m.id };
    case 'rollback':
      if (db.inTransaction) db.exec('ROLLBACK');
      return { id: m.id };
    case 'close':
      db.close();
      return { id: m.id };
  }
}

function crossing(e: unknown): WriterError {
  if (e instanceof UniqueViolation) return { message: e.message, constraint: e.constraint };
  if (e instanceof StoreError) return { message: e.message, storeCode: e.code };
  const err = e as { message?: string; code?: string };
  return { message: String(err?.message ?? e), code: err?.code };
}

/**
 * Answers `m`. An append is answered twice: its outcomes at the commit, then `onDisk` once
 * the commit is flushed, while the next request runs (its commit shares the next flush).
 * Resolves when the next request may start.
 */
async function handle(m: WriterRequest): Promise<void> {
  let reply: WriterReply;
  try {
    reply = await answer(m);
  } catch (e) {
    reply = { id: m.id, error: crossing(e) };
  }
  if (m.op === 'append' && !reply.error) {
    port.postMessage(reply);
    void wal.durable().then(
      () => port.postMessage({ id: m.id, onDisk: true }),
      (e) => port.postMessage({ id: m.id, error: crossing(e) }),
    );
    return;
  }
  port.postMessage(reply);
  if (m.op === 'close') {
    await wal.close();
    port.close();
  }
}

// One request at a time, in the order posted: an append awaits (its runner's promises), and
// the next request must not run inside its transaction.
let previous: Promise<void> = Promise.resolve();
port.on('message', (m: WriterRequest) => {
  previous = previous.then(() => handle(m));
});
