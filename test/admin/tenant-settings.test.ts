import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { api } from '../helpers/clients.js';
import { expectDetail } from '../helpers/dialects.js';
import { useParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';
import { tenant } from '../bots/support.js';
import { P, adminCall } from './support.js';

const register = (server: TestServer, tenantId: string, extra: Record<string, unknown> = {}) =>
  api(server, 'POST', '/api/auth/register', { json: { email: `${randomUUID().slice(0, 8)}@example.com`, password: 'long-enough-password', name: 'Newcomer', tenant_id: tenantId, ...extra } });

async function upload(server: TestServer, token: string, bytes: number) {
  const form = new FormData();
  form.append('file', new Blob([new Uint8Array(bytes).fill(65)], { type: 'text/plain' }), 'notes.txt');
  const r = await fetch(`${server.url}${P}/files`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  return { status: r.status, body: (await r.json()) as any };
}

/**
 * A tenant's settings (issue 20) are in force, not only stored: its registration mode decides
 * who joins it (the operator's REGISTRATION=closed still binds every tenant) and its upload
 * limit lowers, never raises, every file size limit of its members.
 */
describe.each(databases)('tenant settings in force on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: 'open' } });

  it("registration: the tenant's mode decides who joins it, another tenant keeps the process's", async () => {
    const { admin, tenantId } = await tenant(server, 0);
    const other = await tenant(server, 0);
    expect((await register(server, tenantId)).status).toBe(201);

    await adminCall(server, admin, 'PATCH', '/settings', 200, { registration: 'invite' });
    expectDetail(await register(server, tenantId), 403);
    expect((await register(server, other.tenantId)).status, 'another tenant is open').toBe(201);
    const invite = await api(server, 'POST', `${P}/invites`, { token: admin.token, json: {} });
    expect(invite.status, JSON.stringify(invite.body)).toBe(201);
    expect((await register(server, tenantId, { invite: invite.body.code })).status, 'an invite still admits').toBe(201);

    await adminCall(server, admin, 'PATCH', '/settings', 200, { registration: 'closed' });
    const another = await api(server, 'POST', `${P}/invites`, { token: admin.token, json: {} });
    expectDetail(await register(server, tenantId, { invite: another.body.code }), 403);
    expectDetail(await register(server, tenantId), 403);

    await adminCall(server, admin, 'PATCH', '/settings', 200, { registration: null });
    expect((await register(server, tenantId)).status, "back to the process's mode").toBe(201);
  });

  it("uploads: the tenant's limit lowers every file limit of its members and no other tenant's", async () => {
    const { admin, members: [member], tenantId } = await tenant(server, 1);
    const other = await tenant(server, 1);
    expect((await upload(server, member.token, 4096)).status).toBe(201);

    await adminCall(server, admin, 'PATCH', '/settings', 200, { max_upload_bytes: 2048 });
    const refused = await upload(server, member.token, 4096);
    expect(refused.status, JSON.stringify(refused.body)).toBe(413);
    expect(refused.body.detail).toMatch(/File too large/);
    expect((await upload(server, member.token, 1024)).status).toBe(201);
    expect((await upload(server, other.members[0].token, 4096)).status, 'another tenant keeps its limit').toBe(201);
    expect(tenantId).not.toBe(other.tenantId);

    // A limit above the document's own changes nothing: a tenant lowers limits, never raises them.
    await adminCall(server, admin, 'PATCH', '/settings', 200, { max_upload_bytes: Number.MAX_SAFE_INTEGER });
    expect((await upload(server, member.token, 4096)).status).toBe(201);
  });
});
