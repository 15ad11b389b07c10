import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { raw } from '../../src/backends/store/sql-runner.js';
import { createSqliteStore, WalSync, type SqliteRunner } from '../../src/backends/store/sqlite-store.js';

// SQLite commits with synchronous=NORMAL and Parley flushes the WAL itself, off the main
// thread, before it reports a write done: these check that every write waits for a flush
// that began after it, and that concurrent writes share flushes.

describe('SQLite: writes are durable before they are reported done', () => {
  const dirs: string[] = [];
  const scratch = () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-wal-'));
    dirs.push(dir);
    return path.join(dir, 'parley.db');
  };
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('a store on a file runs WAL with synchronous=NORMAL and flushes after every write, not after a read', async () => {
    const file = scratch();
    const store = createSqliteStore(`sqlite:${file}`);
    await store.migrate();
    const runner = store.runner as SqliteRunner;
    expect(runner.wal?.walPath).toBe(`${file}-wal`);
    expect(await runner.all(raw('PRAGMA synchronous', []))).toEqual([{ synchronous: 1 }]);
    await runner.run(raw('CREATE TABLE probe (x INTEGER)', []));

    // A single statement: reported done only after a flush that counted it.
    let before = runner.wal!.syncs;
    await runner.run(raw('INSERT INTO probe (x) VALUES (?)', [1]));
    expect(runner.wal!.syncs).toBeGreaterThan(before);

    // A transaction: after its commit's flush.
    before = runner.wal!.syncs;
    await runner.transaction(async (tx) => {
      await tx.run(raw('INSERT INTO probe (x) VALUES (?)', [2]));
      await tx.run(raw('INSERT INTO probe (x) VALUES (?)', [3]));
    });
    expect(runner.wal!.syncs).toBeGreaterThan(before);

    // Reads flush nothing.
    before = runner.wal!.syncs;
    expect(await runner.all(raw('SELECT count(*) AS n FROM probe', []))).toEqual([{ n: 3 }]);
    expect(runner.wal!.syncs).toBe(before);

    // 200 writes at once share a handful of flushes, and each still waits for one.
    before = runner.wal!.syncs;
    const done = await Promise.all(
      Array.from({ length: 200 }, (_, i) => runner.run(raw('INSERT INTO probe (x) VALUES (?)', [100 + i])).then(() => runner.wal!.syncs)),
    );
    const flushes = runner.wal!.syncs - before;
    expect(flushes).toBeGreaterThanOrEqual(1);
    expect(flushes).toBeLessThan(20);
    expect(Math.min(...done)).toBeGreaterThan(before);
    await store.close();

    // What was reported done is in the file after the store closed.
    const db = new Database(file, { readonly: true });
    expect(db.prepare('SELECT count(*) AS n FROM probe').get()).toEqual({ n: 203 });
    db.close();
  });

  it('a flush asked for while one runs waits for the next one (which starts after it)', async () => {
    const file = scratch();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE t (x INTEGER)');
    const wal = new WalSync(`${file}-wal`);
    const order: string[] = [];
    const first = wal.durable().then(() => order.push(`first after ${wal.syncs}`));
    db.exec('INSERT INTO t VALUES (1)');
    const second = wal.durable().then(() => order.push(`second after ${wal.syncs}`));
    const third = wal.durable().then(() => order.push(`third after ${wal.syncs}`));
    await Promise.all([first, second, third]);
    expect(order).toEqual(['first after 1', 'second after 2', 'third after 2']);
    await wal.close();
    db.close();
  });

  it('the WAL is checkpointed into the database file by the worker, not by the writing connection', async () => {
    const file = scratch();
    const store = createSqliteStore(`sqlite:${file}`);
    await store.migrate();
    const runner = store.runner as SqliteRunner;
    expect(await runner.all(raw('PRAGMA wal_autocheckpoint', []))).toEqual([{ wal_autocheckpoint: 0 }]);
    await runner.run(raw('CREATE TABLE probe (x TEXT)', []));
    const size = () => statSync(file).size;
    await expect.poll(size, { timeout: 5000, interval: 50 }).toBeGreaterThan(0);
    const before = size();
    // ~4 MB through the WAL, in transactions of 100 rows.
    for (let t = 0; t < 40; t++) {
      await runner.transaction(async (tx) => {
        for (let i = 0; i < 100; i++) await tx.run(raw('INSERT INTO probe (x) VALUES (?)', ['x'.repeat(1000)]));
      });
    }
    // The pages reach the database file with no checkpoint from this connection.
    await expect.poll(size, { timeout: 5000, interval: 50 }).toBeGreaterThan(before + 3_000_000);
    await store.close();
  });

  it('under writes that never stop, the WAL starts over instead of growing without bound', async () => {
    const file = scratch();
    const store = createSqliteStore(`sqlite:${file}`);
    await store.migrate();
    const runner = store.runner as SqliteRunner;
    await runner.run(raw('CREATE TABLE probe (k INTEGER PRIMARY KEY, x TEXT)', []));
    await runner.run(raw('CREATE INDEX probe_x ON probe (x)', []));
    // What is measured is the checkpointer at work, not its start (from src/ it compiles first).
    await runner.checkpointing;
    // ~200 MB through the WAL back to back, never a pause for a PASSIVE checkpoint to catch up
    // in: random index keys dirty a page per row.
    const walSizes: number[] = [];
    const t0 = Date.now();
    for (let t = 0; t < 250; t++) {
      await runner.transaction(async (tx) => {
        for (let i = 0; i < 200; i++) await tx.run(raw('INSERT INTO probe (x) VALUES (?)', [Math.random().toString(36).repeat(20)]));
      });
      if (t % 10 === 0) walSizes.push(statSync(`${file}-wal`).size);
    }
    const seconds = (Date.now() - t0) / 1000;
    // Without the restart it ends near 200 MB; with it, it stays near journal_size_limit (32 MiB)
    // plus what is written between two of the checkpointer's looks (every 200 ms).
    expect(Math.max(...walSizes), `WAL sizes ${walSizes.join(', ')} over ${seconds} s`).toBeLessThan(100 * 2 ** 20);
    expect(statSync(`${file}-wal`).size).toBeLessThan(100 * 2 ** 20);
    expect(await runner.all(raw('SELECT count(*) AS n FROM probe', []))).toEqual([{ n: 50_000 }]);
    await store.close();
    const db = new Database(file, { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.prepare('SELECT count(*) AS n FROM probe').get()).toEqual({ n: 50_000 });
    db.close();
  });

  it('closing the store in a process with nothing else to do ends it cleanly (the worker is waited for)', () => {
    const dir = path.dirname(scratch());
    const script = path.join(dir, 'close.mts');
    const src = path.resolve(import.meta.dirname, '../../src/backends/store/sqlite-store.ts');
    writeFileSync(
      script,
      `import { createSqliteStore } from ${JSON.stringify(src)};\n` +
        `const store = createSqliteStore(${JSON.stringify(`sqlite:${path.join(dir, 'c.db')}`)});\n` +
        `await store.migrate();\nawait store.close();\nconsole.log('closed');\n`,
    );
    const run = spawnSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8', timeout: 30_000 });
    expect(run.stdout.trim()).toBe('closed');
    expect(run.status).toBe(0);
  });

  it('an in-memory store has nothing to flush and keeps synchronous=FULL', async () => {
    const store = createSqliteStore('sqlite::memory:');
    await store.migrate();
    const runner = store.runner as SqliteRunner;
    expect(runner.wal).toBeNull();
    await store.close();
  });
});
