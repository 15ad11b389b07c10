// npm run bench:invalidation: how long another process keeps serving a user after a change
// that should shut them out. Two Parley instances (A and B) on one scratch PostgreSQL database
// and one Redis; a user's caches on B are warmed (a send and a read), then the change is made
// through A and B is asked again and again (every 10 ms) until it refuses. Prints the window
// from A's acknowledgement to B's first refusal, for a read and for a send:
// - removed: the user is removed from a group through A;
// - deleted: the group is deleted through A.
//
// `--parley-dir DIR` measures another checkout (e.g. a snapshot of main with node_modules
// linked), so the same script prints the figure before and after a change.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { exitOnHelp } from '../scripts/lib/cli.js';
import { cleanupAll, cleanupRedisPrefix, createScratchDb, dropScratchDb, scratchRedisPrefix } from './lib/scratch.js';

const HELP = `npm run bench:invalidation -- [options]

  --parley-dir DIR   the checkout to measure (default: this one)
  --max-ms N         give up waiting for a refusal after N ms (default 40000)
  --pg-url URL       where the scratch database is created (default $BENCH_PG_URL or postgres://postgres@127.0.0.1:5432/postgres)
  --redis-url URL    default $REDIS_URL or redis://127.0.0.1:6379 (a prefix of its own; never flushed)
`;

const { values } = parseArgs({
  options: {
    'parley-dir': { type: 'string' },
    'max-ms': { type: 'string', default: '40000' },
    'pg-url': { type: 'string', default: process.env.BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres' },
    'redis-url': { type: 'string', default: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' },
    help: { type: 'boolean', default: false },
  },
});
exitOnHelp(values.help, HELP);

const ROOT = path.resolve(values['parley-dir'] ?? path.join(import.meta.dirname, '..'));
const MAX_MS = Number(values['max-ms']);
const log = (m: string) => process.stdout.write(`[invalidation] ${m}\n`);

interface Running {
  url: string;
  close(): Promise<void>;
}

async function start(databaseUrl: string, redisUrl: string, prefix: string): Promise<Running> {
  const { loadConfig } = await import(pathToFileURL(path.join(ROOT, 'src/config/config.ts')).href);
  const { createParley } = await import(pathToFileURL(path.join(ROOT, 'src/app/app.ts')).href);
  const dir = mkdtempSync(path.join(tmpdir(), 'parley-inval-'));
  const config = loadConfig({
    DATA_DIR: dir,
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    REDIS_PREFIX: prefix,
    JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256-tokens',
    REGISTRATION: 'open',
    LOG_LEVEL: 'silent',
    RATE_USER_MESSAGES_PER_SECOND: '0',
    RATE_REST_WRITES_PER_SECOND: '0',
    RATE_USER_READS_PER_SECOND: '0',
  });
  const parley = await createParley(config, { logger: false });
  const url = (await parley.listen()).replace('localhost', '127.0.0.1');
  return {
    url,
    async close() {
      await parley.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function call(base: string, method: string, p: string, token?: string, json?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + p, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(json !== undefined ? { 'content-type': 'application/json' } : {}) },
    body: json === undefined ? undefined : JSON.stringify(json),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

let n = 0;
async function user(base: string): Promise<{ token: string; id: number }> {
  const r = await call(base, 'POST', '/api/auth/register', undefined, { email: `inval${++n}-${randomBytes(3).toString('hex')}@example.com`, password: 'password-123456', name: `U${n}` });
  if (r.status !== 201) throw new Error(`register: ${r.status} ${JSON.stringify(r.body)}`);
  return { token: r.body.access_token, id: r.body.user.id };
}

/**
 * ms from now until `refused()` first answers true (polled every 10 ms; the first request's own
 * round trip included), and how many requests were still served; null past MAX_MS.
 */
async function windowUntil(refused: () => Promise<boolean>): Promise<{ ms: number; served: number } | null> {
  const t0 = performance.now();
  for (let served = 0; ; served++) {
    if (await refused()) return { ms: performance.now() - t0, served };
    if (performance.now() - t0 > MAX_MS) return null;
    await new Promise((r) => setTimeout(r, 10));
  }
}

const show = (w: { ms: number; served: number } | null) =>
  w === null ? `not within ${MAX_MS} ms` : `${w.ms.toFixed(1)} ms (${w.served} request${w.served === 1 ? '' : 's'} still served meanwhile)`;

async function main() {
  const db = await createScratchDb(values['pg-url']);
  const prefix = scratchRedisPrefix(values['redis-url']);
  let a: Running | undefined;
  let b: Running | undefined;
  try {
    a = await start(db.url, values['redis-url'], prefix);
    b = await start(db.url, values['redis-url'], prefix);
    log(`measuring ${ROOT}`);
    const results: [string, string, { ms: number; served: number } | null][] = [];

    for (const change of ['removed', 'deleted'] as const) {
      for (const what of ['read', 'send'] as const) {
        const owner = await user(a.url);
        const bob = await user(b.url);
        const g = await call(a.url, 'POST', '/api/parley/conversations', owner.token, { kind: 'group', title: 'g', member_ids: [bob.id] });
        const id = g.body.id as number;
        // Warm B: a send (membership and conversation on the send path) and a read by id.
        const sent = await call(b.url, 'POST', `/api/parley/conversations/${id}/messages`, bob.token, { content: 'warm' });
        if (sent.status !== 201) throw new Error(`warm send: ${sent.status}`);
        await call(b.url, 'GET', `/api/parley/messages/${sent.body.id}`, bob.token);
        const done =
          change === 'removed'
            ? await call(a.url, 'DELETE', `/api/parley/conversations/${id}/participants/${bob.id}`, owner.token)
            : await call(a.url, 'DELETE', `/api/parley/conversations/${id}`, owner.token);
        if (done.status !== 204) throw new Error(`${change}: ${done.status}`);
        const ms = await windowUntil(async () =>
          what === 'read'
            ? (await call(b!.url, 'GET', `/api/parley/messages/${sent.body.id}`, bob.token)).status === 404
            : (await call(b!.url, 'POST', `/api/parley/conversations/${id}/messages`, bob.token, { content: 'late' })).status >= 400,
        );
        results.push([change, what, ms]);
        log(`${change} through A → ${what} through B refused after ${show(ms)}`);
      }
    }
    process.stdout.write('\nchange    request  A acknowledged → B refused\n');
    for (const [change, what, ms] of results) process.stdout.write(`${change.padEnd(9)} ${what.padEnd(8)} ${show(ms)}\n`);
  } finally {
    await b?.close().catch(() => {});
    await a?.close().catch(() => {});
    await dropScratchDb(db.name).catch(() => {});
    await cleanupRedisPrefix(prefix).catch(() => {});
    await cleanupAll(() => {}).catch(() => {});
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`${(e as Error).stack ?? e}\n`);
    process.exit(1);
  },
);
