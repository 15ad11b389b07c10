import pg from 'pg';
import { createPostgresStore } from '../../src/backends/store/postgres-store.js';
import { TEMPLATE_DB, adminUrl, postgresUrl } from './pg.js';

/**
 * With DATABASE_URL set to PostgreSQL, migrates a template database once; each test file
 * clones it (test/helpers/pg.ts). A set DATABASE_URL whose server does not answer fails
 * the whole run instead of skipping the PostgreSQL half.
 */
export async function setup() {
  const url = postgresUrl();
  if (!url) return;
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  try {
    await admin.connect();
  } catch (e) {
    throw new Error(`DATABASE_URL is set but PostgreSQL does not answer: ${(e as Error).message}`);
  }
  await admin.query(`DROP DATABASE IF EXISTS ${TEMPLATE_DB} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${TEMPLATE_DB}`);
  await admin.end();
  const store = createPostgresStore(withDatabase(url, TEMPLATE_DB), { poolSize: 2 });
  await store.migrate();
  await store.close();
}

export async function teardown() {
  const url = postgresUrl();
  if (!url) return;
  const admin = new pg.Client({ connectionString: adminUrl(url) });
  await admin.connect();
  const { rows } = await admin.query(`SELECT datname FROM pg_database WHERE datname LIKE $1`, [`${TEMPLATE_DB}%`]);
  for (const r of rows) await admin.query(`DROP DATABASE IF EXISTS ${r.datname} WITH (FORCE)`).catch(() => {});
  await admin.end();
}

function withDatabase(url: string, db: string) {
  const u = new URL(url);
  u.pathname = '/' + db;
  return u.toString();
}
