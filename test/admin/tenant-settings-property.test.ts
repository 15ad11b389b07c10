import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';
import { P, adminCall } from './support.js';

// A tenant's settings (issue 20) as invariants over any history of changes and attempts, on the
// real store: who joined a tenant joined under a mode that let them in at that moment, and no
// stored file is larger than the upload limit in force when it was sent.

const MODES = [null, 'open', 'invite', 'closed', 'default-tenant'] as const;
type Mode = (typeof MODES)[number];

/** Whether a registration into an existing tenant other than the default one gets in (REGISTRATION=open for the process). */
const admits = (mode: Mode, invited: boolean) => {
  const m = mode ?? 'open';
  return invited ? m !== 'closed' : m === 'open';
};

async function upload(server: TestServer, token: string, bytes: number) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes).fill(65)], { type: 'text/plain' }), 'notes.txt');
  const r = await fetch(`${server.url}${P}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: r.status, body: (await r.json()) as { files?: { key: string }[] } };
}

describe.each(databases)('tenant settings, any history, on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });
  const runs = db === 'sqlite' ? 8 : 5;

  it('a user is in the tenant only if the registration mode at that moment let them in', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('mode' as const), mode: fc.constantFrom(...MODES) }),
      fc.record({ kind: fc.constant('register' as const), invited: fc.boolean() }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const { admin, tenantId } = await tenant(server, 0);
        const tenantRow = (await server.parley.core.deps.store.tenantByUuid(tenantId))!;
        let mode: Mode = null;
        const joined = [admin.user.id];
        for (const s of steps) {
          if (s.kind === 'mode') {
            await adminCall(server, admin, 'PATCH', '/settings', 200, { registration: s.mode });
            mode = s.mode;
            continue;
          }
          const invite = s.invited ? (await api(server, 'POST', `${P}/invites`, { token: admin.token, json: {} })).body.code : undefined;
          const account = { email: `${randomUUID().slice(0, 8)}@example.com`, password: 'long-enough-password', name: 'Newcomer', tenant_id: tenantId, ...(invite ? { invite } : {}) };
          const r = await api(server, 'POST', `${P}/auth/register`, { json: account });
          const where = `${JSON.stringify(s)} under ${mode}: ${r.status} ${JSON.stringify(r.body)} after ${JSON.stringify(steps)}`;
          if (admits(mode, s.invited)) {
            expect(r.status, where).toBe(201);
            joined.push(r.body.user.id);
          } else expect(r.status, where).toBe(403);
        }
        const members = await server.parley.core.deps.store.tenantUsers(tenantRow.id, { after: 0, limit: 50 });
        expect(members.map((u) => u.id).sort((a, b) => a - b)).toEqual(joined.sort((a, b) => a - b));
      }),
      { numRuns: runs, seed: 20_26 },
    );
  });

  it('no stored file exceeds the upload limit in force when it was uploaded', async () => {
    const step = fc.oneof(
      fc.record({ kind: fc.constant('limit' as const), bytes: fc.constantFrom(null, 1024, 2048, 4096) }),
      fc.record({ kind: fc.constant('upload' as const), bytes: fc.integer({ min: 1, max: 6000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 8 }), async (steps) => {
        const { admin, members: [member] } = await tenant(server, 1);
        let limit: number | null = null;
        const stored: { key: string; limit: number | null }[] = [];
        for (const s of steps) {
          if (s.kind === 'limit') {
            await adminCall(server, admin, 'PATCH', '/settings', 200, { max_upload_bytes: s.bytes });
            limit = s.bytes;
            continue;
          }
          const r = await upload(server, member.token, s.bytes);
          const where = `${s.bytes} bytes under ${limit}: ${r.status} after ${JSON.stringify(steps)}`;
          if (limit !== null && s.bytes > limit) expect(r.status, where).toBe(413);
          else {
            expect(r.status, where).toBe(201);
            stored.push({ key: r.body.files![0].key, limit });
          }
        }
        // What the store holds, against the limit in force at each upload.
        for (const f of stored) {
          const row = await server.parley.core.deps.store.attachmentByPath(f.key);
          expect(row, f.key).toBeDefined();
          if (f.limit !== null) expect(row!.attachment.size).toBeLessThanOrEqual(f.limit);
        }
      }),
      { numRuns: runs, seed: 20_27 },
    );
  });
});
