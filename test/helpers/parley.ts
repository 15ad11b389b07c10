import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { afterAll, beforeAll } from 'vitest';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { createParley, type Parley } from '../../src/app/app.js';
import { CachedStore } from '../../src/backends/store/cached-store.js';
import type { SqlStore } from '../../src/backends/store/sql-store.js';
import { newPostgresDatabase } from './pg.js';

/** Where a test server keeps its state: its data directory and its database. */
export interface TestData {
  /** DATA_DIR (holds the SQLite file on SQLite). */
  dir: string;
  /** DATABASE_URL: `sqlite:<dir>/parley.db` or a PostgreSQL database cloned from the template. */
  databaseUrl: string;
  /** Drops the PostgreSQL database (undefined on SQLite). */
  dropDb?: () => Promise<void>;
}

export interface TestServer {
  parley: Parley;
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  /** The data directory and database of this server (pass as `data` to restart on them). */
  data: TestData;
  /**
   * Stops the server and removes its data directory and database, unless `keepData`:
   * then both stay for a next `startParley({ data: server.data })`, which owns them from
   * then on (its own `close()` removes them).
   */
  close(opts?: { keepData?: boolean }): Promise<void>;
}

/** The JWT_SECRET of every test server (tests that sign their own tokens use it). */
/** The SQL store under a server's CachedStore: its Kysely (`db`) and test hooks (`afterLock`). */
export function sqlStoreOf(server: TestServer): SqlStore {
  const store = server.parley.store;
  return (store instanceof CachedStore ? store.inner : store) as SqlStore;
}

export const TEST_JWT_SECRET = 'test-secret-that-is-long-enough-for-hs256';

export interface StartOptions {
  db?: 'sqlite' | 'postgres';
  env?: Record<string, string>;
  data?: TestData;
  /** pino options (e.g. a `stream`) for tests that read what the server logs. */
  logger?: object;
}

/** What startParley(t) needs of vitest's test context: a place to put the teardown. */
export interface TeardownContext {
  onTestFinished(fn: () => unknown): void;
}

/**
 * A real Parley on a free port with its own data directory and database: a SQLite file
 * by default, a database cloned from the migrated template with `db: 'postgres'`.
 * `data` reuses the directory and database of an earlier server closed with
 * `{ keepData: true }` (a restart); `db` is then ignored.
 * `startParley(t, opts)` inside a test closes it when that test finishes; `startParley(opts)`
 * leaves `close()` to the caller (or use `useParley` for a whole describe block).
 */
export function startParley(t: TeardownContext, opts?: StartOptions): Promise<TestServer>;
export function startParley(opts?: StartOptions): Promise<TestServer>;
export async function startParley(first: TeardownContext | StartOptions = {}, second: StartOptions = {}): Promise<TestServer> {
  if ('onTestFinished' in first && typeof first.onTestFinished === 'function') {
    const server = await launch(second);
    first.onTestFinished(() => server.close());
    return server;
  }
  return launch(first as StartOptions);
}

/**
 * One server for the describe block it is called in: started before its first test, closed
 * (data removed) after its last. The returned object reads through to that server, so tests
 * use it as they would a TestServer.
 */
export function useParley(opts: StartOptions = {}): TestServer {
  let current: TestServer | undefined;
  beforeAll(async () => {
    current = await launch(opts);
  });
  afterAll(() => current?.close());
  return readThrough(() => current);
}

/**
 * Two processes on one PostgreSQL database and one Redis, as a deployment runs them: the
 * first on a fresh database, the second on the same one, both with `env`, the keys under a
 * prefix of their own (the shared Redis is never flushed); `sharedFiles` gives them one
 * files root too.
 */
export async function startTwoProcesses(env: Record<string, string> = {}, opts: { sharedFiles?: boolean } = {}): Promise<[TestServer, TestServer]> {
  const shared = { ...env, REDIS_URL: process.env.REDIS_URL!, REDIS_PREFIX: `parley-test-${randomBytes(4).toString('hex')}:` };
  const first = await launch({ db: 'postgres', env: shared });
  const files: Record<string, string> = opts.sharedFiles ? { FILES_ROOT: first.parley.config.filesRoot } : {};
  const second = await launch({ env: { ...shared, DATABASE_URL: first.data.databaseUrl, ...files } });
  return [first, second];
}

/** startTwoProcesses for the describe block it is called in, closed (second first) after its last test. */
export function useTwoProcesses(env: Record<string, string> = {}, opts: { sharedFiles?: boolean } = {}): [TestServer, TestServer] {
  let servers: TestServer[] = [];
  beforeAll(async () => {
    servers = await startTwoProcesses(env, opts);
  });
  afterAll(async () => {
    for (const server of [...servers].reverse()) await server.close();
  });
  return [readThrough(() => servers[0]), readThrough(() => servers[1])];
}

/** A TestServer that reads through to the one `get` returns once its beforeAll has run. */
function readThrough(get: () => TestServer | undefined): TestServer {
  const live = () => {
    const server = get();
    if (!server) throw new Error('the server starts in beforeAll: use it in a test or a hook');
    return server;
  };
  return {
    get parley() {
      return live().parley;
    },
    get url() {
      return live().url;
    },
    get wsUrl() {
      return live().wsUrl;
    },
    get data() {
      return live().data;
    },
    close: (closeOpts) => live().close(closeOpts),
  };
}

async function launch(opts: StartOptions): Promise<TestServer> {
  let data: TestData;
  if (opts.data) data = opts.data;
  else {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-test-'));
    data = { dir, databaseUrl: `sqlite:${path.join(dir, 'parley.db')}` };
    if (opts.db === 'postgres') {
      const db = await newPostgresDatabase();
      data.databaseUrl = db.url;
      data.dropDb = db.drop;
    }
  }
  const config = loadConfig({
    DATA_DIR: data.dir,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: data.databaseUrl,
    JWT_SECRET: TEST_JWT_SECRET,
    LOG_LEVEL: 'silent',
    // Tests send bursts far above a person's pace; rate limits are tested where they are set.
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_CONNECTION_FRAMES_PER_SECOND: '0',
    RATE_USER_READS_PER_SECOND: '0',
    // Every test client connects from 127.0.0.1; the caps are tested where they are set.
    HTTP_MAX_CONNECTIONS_PER_ADDRESS: '0',
    // Every test logs in from 127.0.0.1: the login throttle is tested where it is set.
    RATE_LOGIN_ACCOUNT_FAILURES: 'off',
    RATE_LOGIN_ADDRESS_FAILURES: 'off',
    RATE_LOGIN_ADDRESS_ATTEMPTS: 'off',
    // Suites register users into tenants freely; registration rules are tested where they are set.
    REGISTRATION: 'open',
    ...opts.env,
  });
  const parley = await createParley(config, { logger: opts.logger ?? false });
  const address = await parley.listen();
  const url = address.replace('localhost', '127.0.0.1');
  return {
    parley,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    data,
    async close(closeOpts = {}) {
      await parley.close();
      if (closeOpts.keepData) return;
      await data.dropDb?.();
      rmSync(data.dir, { recursive: true, force: true });
    },
  };
}
