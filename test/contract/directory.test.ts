import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe } from 'vitest';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { createSqliteStore } from '../../src/backends/store/sqlite-store.js';
import { hasPostgres, newPostgresDatabase } from '../helpers/pg.js';
import { directoryContract } from './directory.contract.js';

describe('SQLite store', () => {
  directoryContract(async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-directory-'));
    const store = createSqliteStore(`sqlite:${path.join(dir, 'parley.db')}`);
    await store.migrate();
    return { store, close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })) };
  });
});

describe.skipIf(!hasPostgres)('PostgreSQL store', () => {
  directoryContract(async () => {
    const db = await newPostgresDatabase();
    const store = createPostgresStore(db.url);
    await store.migrate();
    return { store, close: async () => (await store.close(), await db.drop()) };
  });
});
