// The retention purge's rate and what it does to sends (issue 20's closing figures): a group
// with --messages old messages (inserted straight into the store, 10 days old), "keep 1 day";
// a member sends over REST into that same conversation one after another, first with no purge
// (baseline), then while one purge round deletes everything old, in batches of RETENTION_BATCH.
//
//   node --import tsx bench/purge.ts [--messages 200000] [--baseline 1500] [--url sqlite:… | postgres://…]
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createParley } from '../src/app/app.js';
import { loadConfig } from '../src/config/config.js';
import type { SqlStore } from '../src/backends/store/sql-store.js';
import { CachedStore } from '../src/backends/store/cached-store.js';

const args = process.argv.slice(2);
const opt = (k: string, d: string) => {
  const i = args.indexOf(`--${k}`);
  return i >= 0 ? args[i + 1] : d;
};
const total = Number(opt('messages', '200000'));
const baselineSends = Number(opt('baseline', '1500'));
const tmp = mkdtempSync(path.join(tmpdir(), 'purge-bench-'));
const url = opt('url', `sqlite:${path.join(tmp, 'parley.db')}`);
const DAY = 86_400_000;

const config = loadConfig({
  ...process.env,
  DATABASE_URL: url,
  DATA_DIR: tmp,
  PORT: '0',
  JWT_SECRET: 'bench-secret-that-is-long-enough-for-hs256',
  REGISTRATION: 'open',
  RETENTION_INTERVAL_MS: '0',
  RATE_USER_MESSAGES_PER_SECOND: '0',
  RATE_REST_WRITES_PER_SECOND: '0',
});
const parley = await createParley(config, { logger: false });
const base = (await parley.listen()).replace('0.0.0.0', '127.0.0.1');

async function call(method: string, p: string, token: string | null, body?: unknown) {
  const res = await fetch(base + p, { method, headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body ? { 'content-type': 'application/json' } : {}) }, body: body ? JSON.stringify(body) : undefined });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${p}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

const tenant = randomUUID();
const register = (name: string) => call('POST', '/api/auth/register', null, { email: `${name}-${randomUUID()}@example.com`, password: 'bench-password', name, tenant_id: tenant });
const admin = await register('admin');
const member = await register('member');
const conv = (await call('POST', '/api/parley/conversations', admin.access_token, { kind: 'group', title: 'Purged', member_ids: [member.user.id] })).id as number;
await call('PUT', `/api/parley/conversations/${conv}/retention`, admin.access_token, { days: 1 });

// The old history, straight into the store: 1,000 rows per INSERT.
const sql = (parley.store instanceof CachedStore ? parley.store.inner : parley.store) as SqlStore;
const old = Date.now() - 10 * DAY;
const t0 = performance.now();
for (let from = 1; from <= total; from += 1000) {
  const rows = [];
  for (let seq = from; seq < Math.min(total + 1, from + 1000); seq++) {
    rows.push({ uuid: randomUUID(), conversation_id: conv, seq, change_seq: seq, sender_id: member.user.id, kind: 'text', content: `old message ${seq}`, reply_to_id: null, reply_count: 0, client_id: null, created_at: old + seq, edited_at: null, deleted_at: null, unchanged: 1 });
  }
  await sql.db.insertInto('messages').values(rows).execute();
}
await sql.db.updateTable('conversations').set({ last_seq: total, change_seq: total }).where('id', '=', conv).execute();
console.log(`inserted ${total} messages in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

async function timedSend(i: number): Promise<number> {
  const t = performance.now();
  await call('POST', `/api/parley/conversations/${conv}/messages`, member.access_token, { content: `new ${i}` });
  return performance.now() - t;
}
const p = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
const summary = (xs: number[]) => `n=${xs.length} p50=${p(xs, 0.5).toFixed(1)} ms p99=${p(xs, 0.99).toFixed(1)} ms max=${Math.max(...xs).toFixed(1)} ms`;

const baseline: number[] = [];
for (let i = 0; i < baselineSends; i++) baseline.push(await timedSend(i));

const during: number[] = [];
let purging = true;
const sender = (async () => {
  for (let i = 0; purging; i++) during.push(await timedSend(baselineSends + i));
})();
const t1 = performance.now();
const report = await parley.retentionJob.tick(Date.now());
const seconds = (performance.now() - t1) / 1000;
purging = false;
await sender;

console.log(`database: ${sql.dialect}, batch ${config.retention.batch}`);
console.log(`purged ${report?.messages} messages in ${seconds.toFixed(2)} s: ${Math.round((report?.messages ?? 0) / seconds)} messages/s`);
console.log(`send latency without purge: ${summary(baseline)}`);
console.log(`send latency during purge:  ${summary(during)}`);
await parley.close();
rmSync(tmp, { recursive: true, force: true });
