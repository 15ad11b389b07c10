// A user's pending uploads (uploaded, not yet sent) are bounded: FILES_PENDING_QUOTA_FILES
// files and FILES_PENDING_QUOTA_BYTES bytes, whatever upload route (000's upload-files, 003's
// upload/, /api/parley/files) and whatever process (two on one PostgreSQL) they go through.
// Over it: 413 {"detail"} and nothing stored; sending a file or the pending sweep frees its
// place. Tested as an invariant: fast-check draws sequences of uploads (one at a time and
// several at once), sends and sweeps by one user, and after every step the server's count
// equals a model of it and never exceeds the quota, and the disk holds exactly the user's
// pending and sent files. Before the quota, a user could keep 10 × 50 MB per request pending
// for 24 h, without bound.
import fc from 'fast-check';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, newUser, type TestUser } from '../helpers/clients.js';
import { startParley, type TestServer } from '../helpers/parley.js';
import { databases, pdf } from './support.js';

const MAX_FILES = 4;
const MAX_BYTES = 12_000;
const QUOTA_TEXT = 'Upload quota exceeded: at most 4 files and 12000 bytes may wait to be sent; send the files you uploaded first';
const RUNS = Number(process.env.QUOTA_RUNS ?? 12);
const SEED = process.env.QUOTA_SEED ? Number(process.env.QUOTA_SEED) : 20261114;

type Route = '000' | '003' | 'parley';
interface Upload {
  route: Route;
  /** Which process answers it (the second exists on PostgreSQL only). */
  server: number;
  sizes: number[];
}
type Action = { t: 'upload'; u: Upload } | { t: 'burst'; us: Upload[] } | { t: 'send'; pick: number } | { t: 'sweep' };

const uploadArb: fc.Arbitrary<Upload> = fc.record({
  route: fc.constantFrom<Route>('000', '003', 'parley'),
  server: fc.nat(1),
  sizes: fc.array(fc.constantFrom(1000, 2500, 4000), { minLength: 1, maxLength: 3 }),
});
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { weight: 5, arbitrary: uploadArb.map((u) => ({ t: 'upload' as const, u })) },
  { weight: 2, arbitrary: fc.array(uploadArb, { minLength: 2, maxLength: 4 }).map((us) => ({ t: 'burst' as const, us })) },
  { weight: 3, arbitrary: fc.nat().map((pick) => ({ t: 'send' as const, pick })) },
  { weight: 1, arbitrary: fc.constant({ t: 'sweep' as const }) },
);

/** The key of an uploaded file from what each route answers. */
function keysOf(route: Route, body: any): string[] {
  if (route === '000') return body.files.map((f: { file_path: string }) => f.file_path);
  if (route === 'parley') return body.files.map((f: { key: string }) => f.key);
  return [decodeURIComponent(new URL(body.file_url).pathname).replace(/^\/static\//, '')];
}

describe.each(databases)('pending-upload quota on %s', (db) => {
  let servers: TestServer[];
  beforeAll(async () => {
    const env = { FILES_PENDING_QUOTA_FILES: String(MAX_FILES), FILES_PENDING_QUOTA_BYTES: String(MAX_BYTES) };
    const a = await startParley({ db, env });
    servers = [a];
    // Two processes on one database share the files root, as a deployment would.
    if (db === 'postgres') servers.push(await startParley({ env: { ...env, DATABASE_URL: a.data.databaseUrl, FILES_ROOT: a.parley.config.filesRoot } }));
  });
  afterAll(async () => {
    for (const s of [...servers].reverse()) await s.close();
  });

  async function upload(user: TestUser, u: Upload) {
    const server = servers[u.server % servers.length];
    const sizes = u.route === '003' ? u.sizes.slice(0, 1) : u.sizes;
    const form = new FormData();
    sizes.forEach((size, i) => form.append(u.route === '000' ? 'files' : 'file', new Blob([pdf(size)], { type: 'application/pdf' }), `doc${i}.pdf`));
    const url = { '000': '/api/chat/upload-files', '003': '/api/notifications/chat/upload/', parley: '/api/parley/files' }[u.route];
    const res = await fetch(server.url + url, { method: 'POST', headers: { authorization: `Bearer ${user.token}` }, body: form });
    const body = await res.json();
    return { route: u.route, status: res.status, body, sizes, keys: res.ok ? keysOf(u.route, body) : [] };
  }

  /** The user's files on disk (committed, not `.part`) and what is left in staging. */
  function onDisk(user: TestUser): { mine: string[]; staging: number } {
    const root = servers[0].parley.config.filesRoot;
    const dir = path.join(root, 'static', 'chat_files', 'files');
    const mine = existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith(`${user.user.id}_`)) : [];
    const staging = existsSync(path.join(root, '.staging')) ? readdirSync(path.join(root, '.staging')).length : 0;
    return { mine: mine.map((n) => `chat_files/files/${n}`).sort(), staging };
  }

  it(`under any sequence of uploads, sends and sweeps, pending files and bytes never exceed the quota (fast-check, ${RUNS} runs, seed ${SEED})`, { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(actionArb, { minLength: 1, maxLength: 10 }), async (actions) => {
        const [user, partner] = [await newUser(servers[0]), await newUser(servers[0])];
        const conv = await api(servers[0], 'POST', '/api/parley/conversations', { token: user.token, json: { kind: 'direct', user_id: partner.user.id } });
        expect(conv.status, JSON.stringify(conv.body)).toBeLessThan(300);
        const pending = new Map<string, number>(); // key → size
        const sent = new Set<string>();
        const used = () => ({ files: pending.size, bytes: [...pending.values()].reduce((n, x) => n + x, 0) });
        const fits = (sizes: number[], base = used()) => base.files + sizes.length <= MAX_FILES && base.bytes + sizes.reduce((n, x) => n + x, 0) <= MAX_BYTES;
        const accept = (r: Awaited<ReturnType<typeof upload>>) => r.keys.forEach((k, i) => pending.set(k, r.sizes[i]));
        const expectRefused = (r: Awaited<ReturnType<typeof upload>>) => {
          expect(r.status, JSON.stringify(r.body)).toBe(413);
          // Parley's own API adds the machine-readable code; the documents' routes show {"detail"} only.
          expect(r.body).toEqual(r.route === 'parley' ? { detail: QUOTA_TEXT, code: 'upload_quota_exceeded' } : { detail: QUOTA_TEXT });
        };

        for (const a of actions) {
          if (a.t === 'upload') {
            const sizes = a.u.route === '003' ? a.u.sizes.slice(0, 1) : a.u.sizes;
            const expected = fits(sizes);
            const r = await upload(user, a.u);
            if (expected) {
              expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
              accept(r);
            } else expectRefused(r);
          } else if (a.t === 'burst') {
            const all = a.us.flatMap((u) => (u.route === '003' ? u.sizes.slice(0, 1) : u.sizes));
            const allFit = fits(all);
            const rs = await Promise.all(a.us.map((u) => upload(user, u)));
            for (const r of rs) {
              if (r.status < 300) accept(r);
              else expectRefused(r);
            }
            // Refusals only when the burst as a whole did not fit.
            if (allFit) expect(rs.every((r) => r.status < 300)).toBe(true);
          } else if (a.t === 'send') {
            const keys = [...pending.keys()];
            if (keys.length === 0) continue;
            const key = keys[a.pick % keys.length];
            const res = await api(servers[a.pick % servers.length], 'POST', `/api/parley/conversations/${conv.body.id}/messages`, { token: user.token, json: { kind: 'file', attachments: [key] } });
            expect(res.status, JSON.stringify(res.body)).toBe(201);
            pending.delete(key);
            sent.add(key);
          } else {
            // What the hourly sweep does to uploads past FILES_PENDING_TTL_SECONDS: here, all of them.
            await servers[0].parley.core.files.sweep(Date.now() + servers[0].parley.config.filesPendingTtlSeconds * 1000 + 1000, 3600);
            pending.clear();
          }

          const usage = await servers[servers.length - 1].parley.store.pendingUsage(user.user.id);
          expect(usage).toEqual(used());
          expect(usage.files).toBeLessThanOrEqual(MAX_FILES);
          expect(usage.bytes).toBeLessThanOrEqual(MAX_BYTES);
          const disk = onDisk(user);
          expect(disk.mine).toEqual([...pending.keys(), ...sent].sort());
          expect(disk.staging).toBe(0);
        }
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
  });
});
