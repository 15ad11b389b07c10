// Scratch resources of a multi-process run: a PostgreSQL database created for the run and a
// Redis key prefix used only by it. Both are tracked so that every exit path (the end of a
// run, an error, Ctrl-C) removes them: the normal path asynchronously (pg, SCAN + DEL), the
// process 'exit' hook synchronously (`dropdb --force`) for a database still left.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';

interface ScratchDb {
  name: string;
  adminUrl: string;
}

const databases = new Map<string, ScratchDb>();
const prefixes = new Map<string, string>(); // prefix -> redis url

/** `adminUrl` with its database replaced by `db`. */
export function withDatabase(adminUrl: string, db: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${db}`;
  return u.toString();
}

const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** Creates an empty database `parley_bench_<pid>_<random>`; returns its name and URL. */
export async function createScratchDb(adminUrl: string): Promise<{ name: string; url: string }> {
  const name = `parley_bench_${process.pid}_${randomBytes(4).toString('hex')}`;
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    databases.set(name, { name, adminUrl });
    await client.query(`CREATE DATABASE ${quoteIdent(name)}`);
  } catch (e) {
    databases.delete(name);
    throw new Error(`cannot create the scratch database on ${redact(adminUrl)}: ${(e as Error).message}`);
  } finally {
    await client.end();
  }
  return { name, url: withDatabase(adminUrl, name) };
}

/** Drops a scratch database (its remaining connections are terminated: PostgreSQL 13+). */
export async function dropScratchDb(name: string): Promise<void> {
  const db = databases.get(name);
  if (!db) return;
  const client = new pg.Client({ connectionString: db.adminUrl });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
    databases.delete(name);
  } finally {
    await client.end();
  }
}

/** A fresh key prefix for one run on a shared Redis; its keys are deleted by `cleanupRedisPrefix`. */
export function scratchRedisPrefix(redisUrl: string): string {
  const prefix = `parley-bench:${process.pid}-${randomBytes(4).toString('hex')}:`;
  prefixes.set(prefix, redisUrl);
  return prefix;
}

/** Deletes every key under the prefix (SCAN MATCH prefix*, never FLUSH). Returns how many. */
export async function cleanupRedisPrefix(prefix: string): Promise<number> {
  const url = prefixes.get(prefix);
  if (!url) return 0;
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
  let n = 0;
  try {
    await redis.connect();
    const glob = prefix.replace(/[*?[\]\\]/g, '\\$&') + '*';
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', glob, 'COUNT', 500);
      cursor = next;
      if (keys.length) n += await redis.del(...keys);
    } while (cursor !== '0');
    prefixes.delete(prefix);
  } finally {
    redis.disconnect();
  }
  return n;
}

/** Everything still tracked, removed asynchronously (errors are reported, not thrown). */
export async function cleanupAll(log: (m: string) => void): Promise<void> {
  for (const name of [...databases.keys()]) {
    try {
      await dropScratchDb(name);
      log(`dropped scratch database ${name}`);
    } catch (e) {
      log(`could not drop scratch database ${name}: ${(e as Error).message}`);
    }
  }
  for (const prefix of [...prefixes.keys()]) {
    try {
      await cleanupRedisPrefix(prefix);
    } catch (e) {
      log(`could not delete the Redis keys under ${prefix}: ${(e as Error).message}`);
    }
  }
}

/** Last resort from the 'exit' hook: `dropdb --if-exists --force` for every database left. */
export function cleanupAllSync(): void {
  for (const db of databases.values()) {
    const r = spawnSync('dropdb', ['--if-exists', '--force', `--maintenance-db=${db.adminUrl}`, db.name], { stdio: 'ignore', timeout: 10_000 });
    if (r.status === 0) databases.delete(db.name);
    else process.stderr.write(`[bench] scratch database ${db.name} may be left on ${redact(db.adminUrl)}: drop it by hand\n`);
  }
  for (const prefix of prefixes.keys()) process.stderr.write(`[bench] Redis keys under ${prefix} may be left\n`);
  prefixes.clear();
}

export const redact = (url: string) => url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
