// The SQLite writer's thread (sqlite-store.ts, SqliteWriter): its own connection to the database
// file runs every write and every statement of a transaction, one request at a time, in the
// order they were posted. The main thread keeps its connection for reads, so the B-tree and
// page work of a group commit (the inserts, their index updates, the COMMIT's WAL writes)
// runs beside the event loop instead of in it.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

export interface WriterWorkerData {
  file: string;
  /** Run once when the connection opens, in order (`synchronous = NORMAL`, …). */
  pragmas: string[];
}

/** What the main thread asks for; each request carries an `id` its reply repeats. */
export type WriterCall =
  | { op: 'all' | 'run'; sql: string; params: readonly unknown[] }
  | { op: 'exec' | 'pragma'; sql: string }
  /** ROLLBACK if a transaction is open (a failed COMMIT may have ended it already). */
  | { op: 'rollback' }
  | { op: 'close' };

export type WriterRequest = WriterCall & { id: number };

export interface WriterReply {
  id: number;
  rows?: unknown[];
  changes?: number;
  error?: { message: string; code?: string };
}

const port = parentPort!;
const { file, pragmas } = workerData as WriterWorkerData;
const db = new Database(file);
for (const p of pragmas) db.pragma(p);
const statements = new Map<string, Database.Statement>();

function prepared(sql: string): Database.Statement {
  let st = statements.get(sql);
  if (!st) {
    st = db.prepare(sql);
    if (statements.size > 2000) statements.clear();
    statements.set(sql, st);
  }
  return st;
}

function answer(m: WriterRequest): WriterReply {
  switch (m.op) {
    case 'all': {
      const st = prepared(m.sql);
      if (st.reader) return { id: m.id, rows: st.all(...m.params) };
      st.run(...m.params);
      return { id: m.id, rows: [] };
    }
    case 'run':
      return { id: m.id, changes: prepared(m.sql).run(...m.params).changes };
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

port.on('message', (m: WriterRequest) => {
  let reply: WriterReply;
  try {
    reply = answer(m);
  } catch (e) {
    const err = e as { message?: string; code?: string };
    reply = { id: m.id, error: { message: String(err?.message ?? e), code: err?.code } };
  }
  port.postMessage(reply);
  if (m.op === 'close') port.close();
});
