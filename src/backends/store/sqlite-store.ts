import { randomUUID } from 'node:crypto';
import Database from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import type { Database as Tables } from './schema.js';
import type { CheckpointReport, CheckpointWorkerData } from './sqlite-checkpoint-worker.js';
import type { WriterCall, WriterError, WriterReply, WriterWorkerData } from './sqlite-writer-worker.js';
import type { SqlRunner, Statement } from './sql-runner.js';
import { SqlStore } from './sql-store.js';
import { sqliteAdapter } from './sql/adapter.js';
import { StoreError, UniqueViolation, type AppendOptions, type AppendOutcome, type NewMessage } from './store.js';

/**
 * Makes commits durable off the main thread. The connection runs `synchronous=NORMAL`, so a
 * COMMIT writes its WAL frames (into the OS page cache: a killed process loses nothing) but
 * does not wait for the disk; this fdatasyncs the WAL file on libuv's thread pool before the
 * write is reported done, which gives an acknowledged commit what `synchronous=FULL` gives
 * it (it survives power loss), without the event loop standing still during the flush.
 * Commits made while a sync runs share the next one. Checkpoints sync as SQLite always does.
 */
export class WalSync {
  #file: Promise<FileHandle> | null = null;
  #running: Promise<void> | null = null;
  #next: Promise<void> | null = null;
  /** Flushes done (tests, metrics). */
  syncs = 0;

  constructor(readonly walPath: string) {}

  /** Resolves once everything written to the WAL before this call is on disk. */
  durable(): Promise<void> {
    // A sync already running may have started before this write: wait for the one after it.
    if (this.#next) return this.#next;
    if (!this.#running) {
      this.#running = this.#sync().finally(() => (this.#running = null));
      return this.#running;
    }
    this.#next = this.#running
      .catch(() => {})
      .then(() => {
        this.#next = null;
        return this.durable();
      });
    return this.#next;
  }

  async #sync(): Promise<void> {
    // The WAL file lives as long as a connection is open (SQLite deletes it only when the
    // last one closes), so one handle serves the store's lifetime.
    this.#file ??= open(this.walPath, 'r+');
    const f = await this.#file;
    await f.datasync();
    this.syncs++;
  }

  async close(): Promise<void> {
    await this.#running?.catch(() => {});
    const f = this.#file;
    this.#file = null;
    await (await f?.catch(() => null))?.close();
  }
}

/** Frames the WAL may hold before the writer stands aside for a checkpoint that lets it start over (~16 MiB of 4 KiB pages). */
const WAL_RESTART_FRAMES = 4096;

/** A writing connection's settings while the Checkpointer's thread checkpoints for it. */
const CHECKPOINTED_WRITER = ['wal_autocheckpoint = 0', `journal_size_limit = ${WAL_RESTART_FRAMES * 4096 * 2}`];

/**
 * A thread running `name`, a file beside this one: as is from `dist/` (`.js`); from `src/`
 * (vitest, tsx) the `.ts` is loaded through tsx's require hook, which works inside a thread
 * (Node 20 applies no `--import` loader to a worker's execArgv).
 */
function startWorker(name: 'sqlite-checkpoint-worker' | 'sqlite-writer-worker', data: CheckpointWorkerData | WriterWorkerData): Worker {
  if (!fileURLToPath(import.meta.url).endsWith('.ts')) return new Worker(new URL(`./${name}.js`, import.meta.url), { workerData: data });
  const program = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const tsx = createRequire(import.meta.url).resolve('tsx/cjs/api');
  return new Worker(`require(${JSON.stringify(tsx)}).require(${JSON.stringify(program)}, ${JSON.stringify(program)})`, { eval: true, workerData: data });
}

/**
 * The writing connection, on a thread of its own (sqlite-writer-worker.ts): requests are
 * answered in the order they are posted. A thread that died fails every call after it.
 */
export class SqliteWriter {
  readonly #worker: Worker;
  /** `atCommit`: an append's first answer (its outcomes); the promise settles at the second (`onDisk`). */
  readonly #pending = new Map<number, { resolve: (r: WriterReply) => void; reject: (e: unknown) => void; append?: { committed: (r: WriterReply) => void; atCommit?: WriterReply } }>();
  #nextId = 1;
  #dead: Error | null = null;

  constructor(data: WriterWorkerData) {
    this.#worker = startWorker('sqlite-writer-worker', data);
    // Referenced only while a request waits: an idle writer keeps no process alive, and a
    // script's last write still gets its answer.
    this.#worker.unref();
    this.#worker.on('message', (r: WriterReply) => {
      const waiting = this.#pending.get(r.id);
      if (!waiting) return;
      const append = waiting.append;
      // An append's commit: told now; its promise resolves with these outcomes once on disk.
      if (append && !append.atCommit && !r.error) {
        append.atCommit = r;
        append.committed(r);
        return;
      }
      this.#pending.delete(r.id);
      if (this.#pending.size === 0) this.#worker.unref();
      waiting.resolve(append?.atCommit && r.onDisk ? append.atCommit : r);
    });
    const die = (e: unknown) => {
      this.#dead ??= e instanceof Error ? e : new Error(`SQLite writer thread ended (${String(e)})`);
      for (const w of this.#pending.values()) w.reject(this.#dead);
      this.#pending.clear();
    };
    this.#worker.on('error', die);
    this.#worker.on('exit', die);
  }

  /** `committed`: an append's first answer, at its commit (the promise waits for the second). */
  #call(request: WriterCall, committed: (r: WriterReply) => void = () => {}): Promise<WriterReply> {
    if (this.#dead) return Promise.reject(this.#dead);
    const id = this.#nextId++;
    if (this.#pending.size === 0) this.#worker.ref();
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, append: request.op === 'append' ? { committed } : undefined });
      this.#worker.postMessage({ ...request, id });
    });
  }

  /** The reply, or its error rethrown as the thread's code threw it (better-sqlite3's message and code, or the store's error). */
  async #ok(request: WriterCall): Promise<WriterReply> {
    const r = await this.#call(request);
    if (r.error) throw rethrown(r.error);
    return r;
  }

  /** Store.appendMessages, run whole on the thread (its retry lookup, transaction and commit). */
  async append(batch: readonly NewMessage[], opts: AppendOptions, flags: { searchIndex: boolean; outbox: boolean }): Promise<AppendOutcome[]> {
    // The thread answers at the commit (onCommit is told then) and again once it is on disk.
    const { probe, waitMs, onCommit } = opts;
    const r = await this.#call({ op: 'append', batch, opts: { probe, waitMs }, ...flags }, (at) => onCommit?.(at.outcomes!));
    if (r.error) throw rethrown(r.error);
    return r.outcomes!;
  }

  async all<T>(s: Statement): Promise<T[]> {
    return (await this.#ok({ op: 'all', sql: s.sql, params: s.parameters })).rows as T[];
  }

  async run(s: Statement): Promise<number> {
    return (await this.#ok({ op: 'run', sql: s.sql, params: s.parameters })).changes!;
  }

  async exec(sql: string): Promise<void> {
    await this.#ok({ op: 'exec', sql });
  }

  async pragma(sql: string): Promise<void> {
    await this.#ok({ op: 'pragma', sql });
  }

  async rollback(): Promise<void> {
    await this.#ok({ op: 'rollback' });
  }

  async close(): Promise<void> {
    if (this.#dead) return;
    const exited = new Promise((r) => this.#worker.once('exit', r));
    await this.#call({ op: 'close' }).catch(() => {});
    await exited;
  }
}

function rethrown(e: WriterError): Error {
  if (e.constraint !== undefined) return new UniqueViolation(e.constraint);
  if (e.storeCode !== undefined) return new StoreError(e.storeCode);
  return Object.assign(new Error(e.message), { code: e.code });
}

/**
 * Checkpoints the WAL into the database file from a worker thread with its own connection
 * (`wal_checkpoint(PASSIVE)`, which never blocks the writer), so the main connection, with
 * auto-checkpoints off, never copies pages and fsyncs the database file inside a COMMIT on
 * the event loop. If the worker dies, the main connection checkpoints for itself again.
 *
 * Under sustained writes a PASSIVE checkpoint never catches up with the writer, and SQLite
 * starts the WAL over only when a write begins with every frame copied back: the WAL grew
 * by ~180 MB/s under the pairs bench (1.7 GB after 10 s, without bound). So once the WAL
 * holds more than WAL_RESTART_FRAMES, the runner holds statements back (asynchronously: the
 * event loop goes on, sends queue for the next group commit) while one checkpoint copies the
 * rest; the next write then starts the WAL over, within journal_size_limit.
 */
export class Checkpointer {
  readonly #worker: Worker;
  #closed = false;
  /** Waiting for the answer to a 'now' checkpoint. */
  #now: (() => void)[] = [];
  #restarting = false;
  /**
   * Settles at the worker's first report: from src/ (tests) the worker compiles its module
   * through tsx first, which under load takes a while; from dist/ it starts at once.
   */
  readonly started: Promise<void>;

  constructor(db: Database.Database, file: string, runner: SqliteRunner, writer: SqliteWriter | null, intervalMs = 200) {
    // The writer thread's connection opens with these too (CHECKPOINTED_WRITER).
    for (const p of CHECKPOINTED_WRITER) db.pragma(p);
    this.#worker = startWorker('sqlite-checkpoint-worker', { file, intervalMs });
    this.#worker.unref();
    let started!: () => void;
    this.started = new Promise((r) => (started = r));
    this.#worker.once('message', () => started());
    this.#worker.once('error', () => started());
    this.#worker.on('message', (m: CheckpointReport) => {
      if (m.now) for (const r of this.#now.splice(0)) r();
      else if (m.log > WAL_RESTART_FRAMES && !this.#restarting && !this.#closed) void this.#restart(runner);
    });
    const fallBack = () => {
      for (const r of this.#now.splice(0)) r();
      if (!this.#closed && db.open) db.pragma('wal_autocheckpoint = 1000');
      if (!this.#closed) writer?.pragma('wal_autocheckpoint = 1000').catch(() => {});
    };
    this.#worker.on('error', fallBack);
    this.#worker.on('exit', fallBack);
  }

  async #restart(runner: SqliteRunner): Promise<void> {
    this.#restarting = true;
    try {
      await runner.exclusive(
        () =>
          new Promise<void>((resolve) => {
            this.#now.push(resolve);
            this.#worker.ref();
            this.#worker.postMessage('now');
          }),
      );
    } finally {
      if (!this.#closed) this.#worker.unref();
      this.#restarting = false;
    }
  }

  /** A last checkpoint, then the worker's connection closes (before the main one does). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const exited = new Promise((r) => this.#worker.once('exit', r));
    // Unref'd, the worker would not keep this process alive long enough to hear it exit.
    this.#worker.ref();
    this.#worker.postMessage('close');
    await exited;
  }
}

/**
 * better-sqlite3 is synchronous, so a statement never interleaves with another; only a
 * transaction whose body awaits needs a lock, which `#locked` provides: while one is open,
 * every other statement waits for it instead of landing inside it.
 */
export class SqliteRunner implements SqlRunner {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();
  #locked: Promise<void> | null = null;
  readonly #inner: SqlRunner;
  /** The runner of a second connection to the same file, where snapshots read; null: they read here. */
  readonly #reader: (() => SqliteRunner) | null;

  /** Null: every commit is durable when it returns (in-memory, or synchronous=FULL). */
  readonly wal: WalSync | null;

  /**
   * Null: this connection writes. Otherwise writes and transactions run on the writer's thread
   * and this connection only reads (committed state: a transaction in progress is invisible
   * to it, as on PostgreSQL, so reads need not wait for one).
   */
  readonly #writer: SqliteWriter | null;

  /** Settles once the WAL's checkpointer has looked at the log the first time (or gave up). */
  checkpointing: Promise<void> = Promise.resolve();

  constructor(db: Database.Database, wal: WalSync | null, reader: (() => SqliteRunner) | null = null, writer: SqliteWriter | null = null) {
    this.#db = db;
    this.wal = wal;
    this.#reader = reader;
    this.#writer = writer;
    const self = this;
    this.#inner = writer
      ? {
          all: <T>(s: Statement) => self.#written(writer.all<T>(s)),
          run: (s: Statement) => self.#written(writer.run(s)),
          transaction: (fn) => fn(self.#inner),
          snapshot: (fn) => fn(self.#inner),
        }
      : {
          all: async <T>(s: Statement) => self.#all<T>(s),
          run: async (s: Statement) => self.#run(s),
          transaction: (fn) => fn(self.#inner),
          snapshot: (fn) => fn(self.#inner),
        };
  }

  /** A writer thread's answer, its error as this connection would have thrown it. */
  async #written<T>(answer: Promise<T>): Promise<T> {
    try {
      return await answer;
    } catch (e) {
      throw translate(e, this.#db);
    }
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
    if (this.#writer) {
      if (this.#prepare(s.sql).readonly) return this.#all<T>(s);
      while (this.#locked) await this.#locked;
      const rows = await this.#inner.all<T>(s);
      await this.wal?.durable();
      return rows;
    }
    while (this.#locked) await this.#locked;
    const rows = this.#all<T>(s);
    if (this.wal && !this.#prepare(s.sql).readonly) await this.wal.durable();
    return rows;
  }

  async run(s: Statement): Promise<number> {
    if (this.#writer) {
      if (this.#prepare(s.sql).readonly) return this.#run(s);
      while (this.#locked) await this.#locked;
      const changes = await this.#inner.run(s);
      await this.wal?.durable();
      return changes;
    }
    while (this.#locked) await this.#locked;
    const changes = this.#run(s);
    if (this.wal && !this.#prepare(s.sql).readonly) await this.wal.durable();
    return changes;
  }

  /**
   * Store.appendMessages as one request to the writer's thread, which runs the whole append
   * there and answers once its commit is on disk. The thread takes requests in the order
   * they were posted, so posting it outside a transaction of this runner's (`#locked`) is
   * enough to keep it out of one: nothing here waits for it while the thread works.
   */
  async appendOnWriter(batch: readonly NewMessage[], opts: AppendOptions, flags: { searchIndex: boolean; outbox: boolean }): Promise<AppendOutcome[]> {
    const writer = this.#writer;
    if (!writer) throw new Error('appendOnWriter: this store has no writer thread');
    while (this.#locked) await this.#locked;
    return this.#written(writer.append(batch, opts, flags));
  }

  /** Runs `fn` with the connection to itself: no statement starts until it settles. */
  async exclusive<T>(fn: () => Promise<T>): Promise<T> {
    while (this.#locked) await this.#locked;
    let release!: () => void;
    this.#locked = new Promise<void>((r) => (release = r));
    try {
      return await fn();
    } finally {
      this.#locked = null;
      release();
    }
  }

  async transaction<T>(fn: (tx: SqlRunner) => Promise<T>, committed?: (out: T) => void): Promise<T> {
    const writer = this.#writer;
    const out = await this.exclusive(async () => {
      const out = await (writer ? this.#inWriterTransaction(writer, fn) : this.#inTransaction('BEGIN IMMEDIATE', fn));
      // Still holding the connection: commits are told in the order they were made.
      committed?.(out);
      return out;
    });
    // The next transaction may run while this one's WAL frames are flushed.
    if (this.wal) await this.wal.durable();
    return out;
  }

  /**
   * On the reader connection (WAL), so neither waits for the other: this connection's writes
   * go on while a snapshot reads, and stay invisible to it. Without one (an in-memory
   * database has a single connection) the snapshot holds this store's other statements back
   * until `fn` settles, which keeps them out of it just as well.
   */
  snapshot<T>(fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    const on = this.#reader?.() ?? this;
    // A deferred transaction takes its snapshot at its first read, not at BEGIN: read now,
    // so the snapshot is the moment of the call whatever `fn` awaits before its first query.
    return on.exclusive(() =>
      on.#inTransaction('BEGIN', (tx) => {
        on.#all(SNAPSHOT_START);
        return fn(tx);
      }),
    );
  }

  /** `fn` between BEGIN IMMEDIATE and COMMIT on the writer's thread, rolled back if it throws. */
  async #inWriterTransaction<T>(writer: SqliteWriter, fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    await this.#written(writer.exec('BEGIN IMMEDIATE'));
    try {
      const out = await fn(this.#inner);
      await this.#written(writer.exec('COMMIT'));
      return out;
    } catch (e) {
      await writer.rollback().catch(() => {});
      throw e;
    }
  }

  /** `fn` between `begin` and COMMIT on this connection, rolled back if it throws. */
  async #inTransaction<T>(begin: 'BEGIN' | 'BEGIN IMMEDIATE', fn: (tx: SqlRunner) => Promise<T>): Promise<T> {
    this.#db.exec(begin);
    try {
      const out = await fn(this.#inner);
      this.#db.exec('COMMIT');
      return out;
    } catch (e) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      throw e;
    }
  }
}

const SNAPSHOT_START: Statement = { sql: 'SELECT 1 FROM sqlite_master LIMIT 1', parameters: [] };

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

/** Every writing connection's settings (the first, with WAL: see WalSync). */
const WRITER_PRAGMAS = [
  'synchronous = NORMAL',
  'foreign_keys = ON',
  'busy_timeout = 5000',
  // A multi-row INSERT's statement journal otherwise spills to a temp file on every commit.
  'temp_store = MEMORY',
];

/** `sqlite:/abs.db`, `sqlite:///abs.db`, `sqlite:./rel.db`, `sqlite:rel.db`, `sqlite::memory:`. */
export function sqliteFilename(url: string): string {
  let rest = url.replace(/^sqlite:/, '');
  if (rest === ':memory:') return rest;
  if (rest.startsWith('//')) rest = rest.slice(2); // sqlite:///abs → /abs
  return path.resolve(rest);
}

/**
 * Creates `file` (and its folder) private to this user, or makes an existing one so: SQLite
 * creates files 0644, and gives its -wal and -shm the database file's mode, so a database
 * made 0600 before it is opened keeps all three from the machine's other accounts.
 */
function privateFile(file: string): void {
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  try {
    closeSync(openSync(file, 'wx', 0o600));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

export interface SqliteOptions {
  /** SQLITE_WRITER=thread: writes and transactions on a thread of their own; `main` (default): on the event loop. */
  writerThread?: boolean;
}

export function createSqliteStore(url: string, opts: SqliteOptions = {}): SqlStore {
  const file = sqliteFilename(url);
  if (file !== ':memory:') privateFile(file);
  const db = new Database(file);
  // WAL, and every write reported done only once it is on disk: an acknowledged commit
  // survives power loss. The flush runs off the main thread (WalSync); group commit
  // (core/messages/writer.ts) shares one flush among a batch of sends.
  const wal = file !== ':memory:' && String(db.pragma('journal_mode = WAL', { simple: true })) === 'wal' ? new WalSync(`${file}-wal`) : null;
  db.pragma(wal ? 'synchronous = NORMAL' : 'synchronous = FULL');
  for (const p of WRITER_PRAGMAS.slice(1)) db.pragma(p);
  // Snapshots (Store.snapshot) read on a second connection, opened on first use: in WAL mode
  // its read transaction sees one moment while this connection goes on committing.
  let reader: { db: Database.Database; runner: SqliteRunner } | null = null;
  const openReader = () => {
    if (!reader) {
      const rdb = new Database(file);
      rdb.pragma('busy_timeout = 5000');
      rdb.pragma('query_only = ON');
      reader = { db: rdb, runner: new SqliteRunner(rdb, null) };
    }
    return reader.runner;
  };
  // An in-memory database is one connection: it cannot have a second, on another thread.
  const writer = wal && opts.writerThread === true ? new SqliteWriter({ file, pragmas: [...WRITER_PRAGMAS, ...CHECKPOINTED_WRITER], wal: `${file}-wal` }) : null;
  const runner = new SqliteRunner(db, wal, wal ? openReader : null, writer);
  const checkpointer = wal ? new Checkpointer(db, file, runner, writer) : null;
  if (checkpointer) runner.checkpointing = checkpointer.started;
  const kysely = new Kysely<Tables>({ dialect: new SqliteDialect({ database: db }) });
  const store = new SqlStore(sqliteAdapter, kysely, runner, async () => {
    const r = reader as { db: Database.Database } | null;
    if (r?.db.open) r.db.close();
    await writer?.close();
    await checkpointer?.close();
    await wal?.close();
    await kysely.destroy().catch(() => {});
    if (db.open) db.close();
  });
  // Two batches at once: the next one is on its way to the thread while this one's WAL
  // frames are flushed (on the event loop's connection a batch runs in one turn, so one).
  if (writer) store.appendElsewhere({ pipeline: 2, appendMessages: (batch, o, flags) => runner.appendOnWriter(batch, o, flags) });
  return store;
}

/**
 * An online backup of the SQLite database at `url` into `outFile`: `VACUUM INTO` copies one
 * read transaction's snapshot, so writers (a running server) go on meanwhile, and the copy
 * holds every transaction committed before the backup began. Returns the copy's size.
 */
export function backupSqlite(url: string, outFile: string): number {
  const db = new Database(sqliteFilename(url), { fileMustExist: true });
  try {
    db.pragma('busy_timeout = 5000');
    // The copy holds every message: private like the database (VACUUM INTO fills an empty file).
    privateFile(path.resolve(outFile));
    db.prepare('VACUUM INTO ?').run(path.resolve(outFile));
  } finally {
    db.close();
  }
  // The copy's history gets an epoch of its own: restored, it starts lower than the history
  // clients last saw, and their cursors must get snapshot_required, not "nothing missed".
  const stamp = new Database(path.resolve(outFile));
  try {
    stamp.prepare("UPDATE server_state SET value = ? WHERE key = 'epoch'").run(randomUUID());
  } finally {
    stamp.close();
  }
  const copy = new Database(path.resolve(outFile), { readonly: true });
  try {
    const check = copy.pragma('integrity_check', { simple: true });
    if (check !== 'ok') throw new Error(`backup failed its integrity check: ${String(check)}`);
    return (copy.pragma('page_count', { simple: true }) as number) * (copy.pragma('page_size', { simple: true }) as number);
  } finally {
    copy.close();
  }
}

