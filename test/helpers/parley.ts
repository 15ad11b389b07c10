import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config/config.js';
import { createParley, type Parley } from '../../src/app/app.js';
import { newPostgresDatabase } from './pg.js';

export interface TestServer {
  parley: Parley;
  /** http://127.0.0.1:PORT */
  url: string;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  close(): Promise<void>;
}

/**
 * A real Parley on a free port with its own data directory and database: a SQLite file
 * by default, a database cloned from the migrated template with `db: 'postgres'`.
 * Call `close()` (e.g. in afterAll / onTestFinished).
 */
export async function startParley(opts: { db?: 'sqlite' | 'postgres'; env?: Record<string, string> } = {}): Promise<TestServer> {
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-test-'));
  let dropDb: (() => Promise<void>) | undefined;
  let databaseUrl = `sqlite:${path.join(dir, 'parley.db')}`;
  if (opts.db === 'postgres') {
    const db = await newPostgresDatabase();
    databaseUrl = db.url;
    dropDb = db.drop;
  }
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256',
    LOG_LEVEL: 'silent',
    ...opts.env,
  });
  const parley = await createParley(config, { logger: false });
  const address = await parley.listen();
  const url = address.replace('localhost', '127.0.0.1');
  return {
    parley,
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    async close() {
      await parley.close();
      await dropDb?.();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
