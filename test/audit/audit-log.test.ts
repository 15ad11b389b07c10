import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { raw } from '../../src/backends/store/sql-runner.js';
import { api, type TestUser } from '../helpers/clients.js';
import { runParleyCli } from '../helpers/cli.js';
import { sqlStoreOf, useParley, useTwoProcesses, type TestServer } from '../helpers/parley.js';
import { databases, hasPostgres } from '../helpers/pg.js';
import { newGroup, newTenant } from '../webhooks/support.js';
import type { AuditPage } from '../../sdk/src/types.js';
import { ParleyRest } from '@parley/sdk';
import { auditHash } from '../../src/core/audit/audit.js';

// Issue 20: the administrative actions already in Parley land in the tenant's audit log, which
// its admins read (paged, filtered) and export, and the operator verifies from the command line.

const WEBHOOK_ENV = { WEBHOOKS: 'on', WEBHOOK_ALLOW_PRIVATE: 'true' };

const audit = (server: TestServer, user: TestUser, query = '') => api<AuditPage>(server, 'GET', `/api/parley/admin/audit${query}`, { token: user.token });

async function exported(server: TestServer, user: TestUser, after = 0) {
  const r = await fetch(`${server.url}/api/parley/admin/audit/export?after=${after}`, { headers: { authorization: `Bearer ${user.token}` } });
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^application\/x-ndjson/);
  return (await r.text()).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l));
}

/** Every entry the admin can page through, newest first, `limit` a page. */
async function allPages(server: TestServer, admin: TestUser, limit: number, filter = '') {
  const out: AuditPage['entries'] = [];
  for (let before: number | null = null; ; ) {
    const r = await audit(server, admin, `?limit=${limit}${before === null ? '' : `&before=${before}`}${filter}`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    out.push(...r.body.entries);
    if (r.body.next === null) return out;
    before = r.body.next;
  }
}

/** The tenant's internal id, as the CLI and the store name it. */
const tenantIdOf = async (server: TestServer, uuid: string) => (await server.parley.store.tenantByUuid(uuid))!.id;

describe.each(databases)('audit log on %s', (db) => {
  const server = useParley({ db, env: WEBHOOK_ENV });

  it("records the admins' actions with actor, target and origin; admins page, filter and export them, members are refused", async () => {
    const { admin, member } = await newTenant(server);
    const as = { token: admin.token };
    const invite = await api(server, 'POST', '/api/parley/invites', { ...as, json: { ttl_seconds: 600 } });
    expect(invite.status).toBe(201);
    expect((await api(server, 'DELETE', `/api/parley/invites/${invite.body.id}`, as)).status).toBe(204);
    const key = await api(server, 'POST', '/api/parley/api-keys', { ...as, json: { name: 'CI', scopes: ['read'] } });
    expect(key.status).toBe(201);
    expect((await api(server, 'DELETE', `/api/parley/api-keys/${key.body.id}`, as)).status).toBe(204);
    const hook = await api(server, 'POST', '/api/parley/webhooks', { ...as, json: { url: 'http://127.0.0.1:9/events' } });
    expect(hook.status).toBe(201);
    expect((await api(server, 'PATCH', `/api/parley/webhooks/${hook.body.id}`, { ...as, json: { enabled: false } })).status).toBe(200);
    expect((await api(server, 'PATCH', `/api/parley/webhooks/${hook.body.id}`, { ...as, json: { description: 'CRM', enabled: true } })).status).toBe(200);
    expect((await api(server, 'DELETE', `/api/parley/webhooks/${hook.body.id}`, as)).status).toBe(204);
    const group = await newGroup(server, admin, [member]);
    expect((await api(server, 'PATCH', `/api/parley/conversations/${group}/participants/${member.user.id}`, { ...as, json: { role: 'moderator' } })).status).toBe(200);

    const entries = (await allPages(server, admin, 3)).reverse();
    expect(entries.map((e) => e.action)).toEqual([
      'invite.create', 'invite.revoke', 'bot.create', 'api_key.create', 'api_key.revoke',
      'webhook.create', 'webhook.disable', 'webhook.update', 'webhook.enable', 'webhook.delete', 'participant.role',
    ]);
    expect(entries.map((e) => e.seq)).toEqual(entries.map((_, i) => i + 1));
    for (const e of entries) expect(e).toMatchObject({ actor_id: admin.user.id, origin: expect.stringMatching(/^api (127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/) });
    expect(entries[0]).toMatchObject({ target_type: 'invite', target_id: invite.body.id });
    expect(entries[3]).toMatchObject({ target_type: 'api_key', target_id: key.body.id, details: { name: 'CI', scopes: ['read'] } });
    expect(entries[10]).toMatchObject({ target_type: 'conversation', target_id: String(group), details: { user_id: member.user.id, from: 'member', to: 'moderator' } });

    const webhooks = await allPages(server, admin, 2, `&target_type=webhook&target_id=${hook.body.id}`);
    expect(webhooks.map((e) => e.action)).toEqual(['webhook.delete', 'webhook.enable', 'webhook.update', 'webhook.disable', 'webhook.create']);
    expect((await audit(server, admin, '?action=invite.revoke')).body.entries.map((e) => e.seq)).toEqual([2]);
    expect((await audit(server, admin, `?to=${encodeURIComponent(entries[0].at)}`)).body.entries).toEqual([]);

    const lines = await exported(server, admin);
    expect(lines.map((l) => [l.seq, l.action, l.hash])).toEqual(entries.map((e) => [e.seq, e.action, e.hash]));
    expect((await exported(server, admin, 9)).map((l) => l.seq)).toEqual([10, 11]);

    for (const path of ['/api/parley/admin/audit', '/api/parley/admin/audit/export']) {
      const refused = await api(server, 'GET', path, { token: member.token });
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual({ detail: expect.any(String), code: 'not_permitted' });
    }
    expect(await server.parley.core.audit.verify(await tenantIdOf(server, admin.user.tenant_id))).toEqual({ ok: true, checked: 11 });
  });

  it('paging with any page size and filter returns every entry once, newest first', async () => {
    const { admin } = await newTenant(server);
    const ids: string[] = [];
    for (let i = 0; i < 7; i++) ids.push((await api(server, 'POST', '/api/parley/invites', { token: admin.token, json: {} })).body.id);
    for (const id of ids.slice(0, 3)) await api(server, 'DELETE', `/api/parley/invites/${id}`, { token: admin.token });
    const all = await allPages(server, admin, 200);
    expect(all.map((e) => e.seq)).toEqual([10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 11 }), fc.constantFrom('', '&action=invite.create', '&action=invite.revoke', `&target_id=${ids[1]}`), async (limit, filter) => {
        const paged = await allPages(server, admin, limit, filter);
        const wanted = await allPages(server, admin, 200, filter);
        expect(paged.map((e) => e.seq)).toEqual(wanted.map((e) => e.seq));
        expect(new Set(paged.map((e) => e.seq)).size).toBe(paged.length);
      }),
      { numRuns: 15 },
    );
  });

  it("the SDK reads the admins' pages and the export, whose lines give back their own hashes", async () => {
    const { admin } = await newTenant(server);
    const sdk = new ParleyRest({ baseUrl: server.url, token: admin.token });
    for (let i = 0; i < 3; i++) await api(server, 'POST', '/api/parley/invites', { token: admin.token, json: { email: `guest${i}@example.com` } });
    const first = await sdk.auditLog({ limit: 2 });
    expect(first.entries.map((e) => e.seq)).toEqual([3, 2]);
    expect((await sdk.auditLog({ limit: 2, before: first.next! })).entries.map((e) => e.seq)).toEqual([1]);
    const lines = await sdk.auditExport();
    expect(lines.map((l) => l.seq)).toEqual([1, 2, 3]);
    for (const l of lines) {
      expect(typeof l.details).toBe('string');
      expect(auditHash({ seq: l.seq, at: l.at, actorId: l.actor_id, action: l.action, targetType: l.target_type, targetId: l.target_id, reason: l.reason, origin: l.origin, details: l.details, prevHash: l.prev_hash })).toBe(l.hash);
    }
    expect((await sdk.auditExport(2)).map((l) => l.seq)).toEqual([3]);
    expect(await sdk.auditExport(3)).toEqual([]);
  });

  it("parley user add and reset-password are recorded from the cli; parley audit verify finds tampering, export prints the lines", { timeout: 90_000 }, async () => {
    const tenant = randomUUID();
    const email = `audited-${tenant}@example.com`;
    expect((await runParleyCli(server.data, ['user', 'add', '--email', email, '--password', 'first password', '--name', 'Ada', '--tenant', tenant])).code).toBe(0);
    expect((await runParleyCli(server.data, ['user', 'reset-password', '--email', email, '--tenant', tenant])).code).toBe(0);
    const exportRun = await runParleyCli(server.data, ['audit', 'export', '--tenant', tenant]);
    expect(exportRun.code, exportRun.stderr).toBe(0);
    const lines = exportRun.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.seq, l.action, l.actor_id, l.origin, l.target_type])).toEqual([
      [1, 'user.add', null, 'cli', 'user'],
      [2, 'user.reset_password', null, 'cli', 'user'],
    ]);
    const ok = await runParleyCli(server.data, ['audit', 'verify', '--tenant', tenant]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout)).toEqual({ tenant_id: tenant, ok: true, checked: 2 });

    await sqlStoreOf(server).runner.run(raw("UPDATE audit_log SET reason = 'nothing to see' WHERE tenant_id = ? AND seq = 2", [await tenantIdOf(server, tenant)]));
    const bad = await runParleyCli(server.data, ['audit', 'verify', '--tenant', tenant]);
    expect(bad.code).toBe(1);
    expect(JSON.parse(bad.stdout)).toEqual({ tenant_id: tenant, ok: false, checked: 1, first_bad: { seq: 2, problem: 'changed' } });
    expect(bad.stderr).toContain(`tenant ${tenant}: audit entry 2 changed`);
    // Without --tenant, every tenant's chain: this one is still found.
    const every = await runParleyCli(server.data, ['audit', 'verify']);
    expect(every.code).toBe(1);
    expect(every.stdout.trim().split('\n').map((l) => JSON.parse(l))).toContainEqual({ tenant_id: tenant, ok: false, checked: 1, first_bad: { seq: 2, problem: 'changed' } });
  });
});

describe.skipIf(!hasPostgres)('audit log on two processes', () => {
  const [one, two] = useTwoProcesses(WEBHOOK_ENV);

  it("admins acting at once on both processes keep one gapless chain that verifies", async () => {
    const { admin } = await newTenant(one);
    const created = await Promise.all(Array.from({ length: 30 }, (_, i) => api(i % 2 ? one : two, 'POST', '/api/parley/invites', { token: admin.token, json: {} })));
    expect(created.map((r) => r.status)).toEqual(created.map(() => 201));
    const entries = await allPages(two, admin, 200);
    expect(entries.map((e) => e.seq)).toEqual(Array.from({ length: 30 }, (_, i) => 30 - i));
    expect(await one.parley.core.audit.verify(await tenantIdOf(one, admin.user.tenant_id))).toEqual({ ok: true, checked: 30 });
  });
});
