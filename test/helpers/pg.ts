import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { sleep } from './sleep.js';

/**
 * The template every test file clones, named after DATABASE_URL's database so runs on
 * different scratch databases (CI's parley_ci_N) never touch each other's; migrated once
 * by global-setup.ts.
 */
export const TEMPLATE_DB = `${(postgresDbName() ?? 'parley').replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_tpl`;

function postgresDbName(): string | undefined {
  const url = process.env.DATABASE_URL;
  if (!url || !/^postgres(ql)?:\/\//.test(url)) return undefined;
  return new URL(url).pathname.replace(/^\//, '') || undefined;
}

/** DATABASE_URL when it names PostgreSQL, else undefined (the PostgreSQL half is skipped). */
export function postgresUrl(): string | undefined {
  const url = process.env.DATABASE_URL;
  return url && /^postgres(ql)?:\/\//.test(url) ? url : undefined;
}

export const hasPostgres = postgresUrl() !== undefined;

/** The same server, the `postgres` maintenance database (for CREATE/DROP DATABASE). */
export function adminUrl(url: string): string {
  const u = new URL(url);
  u.pathname = '/postgres';
  return u.toString();
}

/** A fresh database cloned from the migrated template; dropped by the returned function. */
export async function newPostgresDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const base = postgresUrl();
  if (!base) throw new Error('DATABASE_URL (postgres://…) is not set');
  const name = `${TEMPLATE_DB}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  for (let attempt = 0; ; attempt++) {
    try {
      await admin.query(`CREATE DATABASE ${name} TEMPLATE ${TEMPLATE_DB}`);
      break;
    } catch (e) {
      // Another file is cloning the same template this instant.
      if (attempt > 20 || !/being accessed by other users/.test((e as Error).message)) throw e;
      await sleep(100 + Math.random() * 200);
    }
  }
  await admin.end();
  const u = new URL(base);
  u.pathname = '/' + name;
  return {
    url: u.toString(),
    async drop() {
      const a = new pg.Client({ connectionString: adminUrl(base) });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await a.end();
    },
  };
}

/** The databases a suite runs on: SQLite always, PostgreSQL when DATABASE_URL names one. */
export const databases: readonly ('sqlite' | 'postgres')[] = hasPostgres ? ['sqlite', 'postgres'] : ['sqlite'];

/**
 * A data directory and a database of their own, empty (not the migrated template): a SQLite
 * file, or a new PostgreSQL database (dropped by `dropDb`). For tests that migrate step by step.
 */
export async function emptyDatabase(dialect: 'sqlite' | 'postgres', tag = 'empty'): Promise<{ dir: string; databaseUrl: string; dropDb?: () => Promise<void> }> {
  const { mkdtempSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const path = await import('node:path');
  const dir = mkdtempSync(path.join(tmpdir(), `parley-${tag}-`));
  if (dialect === 'sqlite') return { dir, databaseUrl: `sqlite:${path.join(dir, 'parley.db')}` };
  const base = postgresUrl();
  if (!base) throw new Error('DATABASE_URL (postgres://…) is not set');
  const name = `parley_${tag.replace(/[^a-z0-9_]/gi, '_')}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl(base) });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(base);
  u.pathname = '/' + name;
  return {
    dir,
    databaseUrl: u.toString(),
    async dropDb() {
      const a = new pg.Client({ connectionString: adminUrl(base) });
      await a.connect();
      await a.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).catch(() => {});
      await a.end();
    },
  };
}
