import { randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/config.js';
import { createParley } from '../../src/app/app.js';
import { api, type TestUser, sleep } from '../helpers/clients.js';
import { useParley, startParley, type TestServer } from '../helpers/parley.js';
import { databases } from '../helpers/pg.js';

// Issue 14 item 3: "anyone joins any tenant". REGISTRATION (DESIGN.md "Accounts and tokens"):
// `default-tenant` by default: anyone into the default tenant or a new one (its first user is
// its admin), an existing tenant only with an invite; `invite`; `closed`; `open` for test
// suites (warned at start). These tests run on the real default, not the helper's `open`.

const DEFAULT_TENANT = '00000000-0000-7000-8000-000000000001';
const NEEDS_INVITE = { detail: 'Registration into this tenant needs an invite' };
const BAD_INVITE = { detail: 'Invalid or expired invite' };
let n = 0;
const email = (tag = 'r') => `${tag}${++n}-${process.pid}-${Date.now()}@example.com`;

async function register(server: { url: string }, body: Record<string, unknown>) {
  return api(server, 'POST', '/api/auth/register', { json: { email: email(), password: 'correct horse', name: 'Someone', ...body } });
}

async function registered(server: { url: string }, body: Record<string, unknown> = {}): Promise<TestUser> {
  const res = await register(server, body);
  if (res.status !== 201) throw new Error(`register: ${res.status} ${JSON.stringify(res.body)}`);
  return { token: res.body.access_token, user: res.body.user, password: 'correct horse' };
}

const createInvite = (server: { url: string }, admin: TestUser, json: Record<string, unknown> = {}) => api(server, 'POST', '/api/auth/invites', { token: admin.token, json });

describe.each(databases)('registration under the default REGISTRATION (default-tenant) on %s', (db) => {
  const server = useParley({ db, env: { REGISTRATION: '' } });

  it("a stranger who knows a tenant's id cannot register into it, nor list its users and e-mails", async () => {
    const tenant = randomUUID();
    const alice = await registered(server, { tenant_id: tenant, name: 'Alice' });
    expect(alice.user.tenant_id).toBe(tenant);
    const bob = await registered(server, {});
    expect(bob.user.tenant_id).toBe(DEFAULT_TENANT);

    const stranger = await register(server, { tenant_id: tenant, name: 'Mallory' });
    expect(stranger.status).toBe(403);
    expect(stranger.body).toEqual(NEEDS_INVITE);
    // The same through Parley's own API, in its error shape.
    const viaParley = await api(server, 'POST', '/api/parley/auth/register', { json: { email: email(), password: 'correct horse', name: 'Mallory', tenant_id: tenant } });
    expect(viaParley.status).toBe(403);
    expect(viaParley.body).toEqual({ ...NEEDS_INVITE, code: 'invite_required' });
    // The default tenant's id named explicitly is the default tenant.
    expect((await registered(server, { tenant_id: DEFAULT_TENANT })).user.tenant_id).toBe(DEFAULT_TENANT);
    // Nothing of the tenant is visible from the default tenant.
    const search = await api(server, 'GET', `/api/parley/users?q=${encodeURIComponent('@example.com')}&limit=50`, { token: bob.token });
    expect(search.status).toBe(200);
    expect((search.body as { email: string }[]).some((u) => u.email === alice.user.email)).toBe(false);
  });

  it('naming an unused tenant id creates the tenant; its first user is its admin, who invites the next', async () => {
    const tenant = randomUUID();
    const admin = await registered(server, { tenant_id: tenant });
    // Only an admin sees the tenant's invites.
    expect((await api(server, 'GET', '/api/auth/invites', { token: admin.token })).body).toEqual({ invites: [], total: 0 });
    const issued = await createInvite(server, admin);
    expect(issued.status).toBe(201);
    expect(issued.body).toMatchObject({ id: expect.any(String), code: expect.stringMatching(/^inv_/), tenant_id: tenant, status: 'active', email: null, used_at: null });
    const member = await register(server, { invite: issued.body.code });
    expect(member.status).toBe(201);
    expect(member.body.user.tenant_id).toBe(tenant);
    // A member is no admin.
    const m: TestUser = { token: member.body.access_token, user: member.body.user, password: 'correct horse' };
    expect((await createInvite(server, m)).status).toBe(403);
    expect((await api(server, 'GET', '/api/auth/invites', { token: m.token })).status).toBe(403);
    // The admin's list shows it used, by the member, without its code.
    const list = await api(server, 'GET', '/api/auth/invites', { token: admin.token });
    expect(list.body.invites).toEqual([expect.objectContaining({ id: issued.body.id, status: 'used', used_by: member.body.user.id, used_at: expect.any(String) })]);
    expect(list.body.invites[0].code).toBeUndefined();
  });

  it('an invite admits one user, only into its tenant, only before expiry and revocation, only for its e-mail', async () => {
    const tenant = randomUUID();
    const admin = await registered(server, { tenant_id: tenant });
    const code = (await createInvite(server, admin)).body.code as string;
    // Naming another tenant with it: refused, and nothing used up.
    expect((await register(server, { invite: code, tenant_id: randomUUID() })).body).toEqual(BAD_INVITE);
    expect((await register(server, { invite: code, tenant_id: tenant })).status).toBe(201);
    const again = await register(server, { invite: code });
    expect(again.status).toBe(403);
    expect(again.body).toEqual(BAD_INVITE);
    expect((await register(server, { invite: 'inv_' + 'x'.repeat(32) })).body).toEqual(BAD_INVITE);

    const revoked = await createInvite(server, admin);
    const del = await api(server, 'DELETE', `/api/auth/invites/${revoked.body.id}`, { token: admin.token });
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({ id: revoked.body.id, status: 'revoked', revoked_at: expect.any(String) });
    expect((await register(server, { invite: revoked.body.code })).body).toEqual(BAD_INVITE);

    const bound = await createInvite(server, admin, { email: 'Carol.Bound@Example.com' });
    expect(bound.body.email).toBe('carol.bound@example.com');
    expect((await register(server, { invite: bound.body.code, email: email('mallory') })).body).toEqual(BAD_INVITE);
    const carol = await register(server, { invite: bound.body.code, email: 'carol.bound@example.com' });
    expect(carol.status).toBe(201);
    expect(carol.body.user).toMatchObject({ tenant_id: tenant, email: 'carol.bound@example.com' });

    const short = await createInvite(server, admin, { ttl_seconds: 1 });
    expect(Date.parse(short.body.expires_at) - Date.parse(short.body.created_at)).toBe(1000);
    while (Date.now() <= Date.parse(short.body.expires_at)) await sleep(50);
    expect((await register(server, { invite: short.body.code })).body).toEqual(BAD_INVITE);
    expect((await api(server, 'GET', '/api/auth/invites', { token: admin.token })).body.invites.find((i: { id: string }) => i.id === short.body.id).status).toBe('expired');
  });

  it('concurrent registrations with one invite: exactly one gets in', async () => {
    const admin = await registered(server, { tenant_id: randomUUID() });
    const code = (await createInvite(server, admin)).body.code;
    const all = await Promise.all(Array.from({ length: 8 }, () => register(server, { invite: code })));
    expect(all.filter((r) => r.status === 201)).toHaveLength(1);
    expect(all.filter((r) => r.status === 403)).toHaveLength(7);
  });

  it("invites are managed per tenant: another tenant's admin sees none of them and cannot revoke them", async () => {
    const a = await registered(server, { tenant_id: randomUUID() });
    const b = await registered(server, { tenant_id: randomUUID() });
    const issued = await createInvite(server, a);
    expect((await api(server, 'GET', '/api/auth/invites', { token: b.token })).body.total).toBe(0);
    const del = await api(server, 'DELETE', `/api/auth/invites/${issued.body.id}`, { token: b.token });
    expect(del.status).toBe(404);
    expect(del.body).toEqual({ detail: 'Invite not found' });
    expect((await register(server, { invite: issued.body.code })).status).toBe(201);
    // Bad input is 422 {detail}.
    for (const json of [{ ttl_seconds: 0 }, { ttl_seconds: 'soon' }, { ttl_seconds: 91 * 24 * 3600 }]) {
      const r = await createInvite(server, a, json);
      expect(r.status, JSON.stringify(json)).toBe(422);
      expect(r.body).toEqual({ detail: expect.any(String) });
    }
    expect((await api(server, 'DELETE', '/api/auth/invites/not-a-uuid', { token: a.token })).status).toBe(422);
    expect((await api(server, 'POST', '/api/auth/invites', { json: {} })).status).toBe(401);
  });

  it('/api/parley/invites: create (201, the code once), list, revoke (204); register with the invite', async () => {
    const tenant = randomUUID();
    const admin = (await api(server, 'POST', '/api/parley/auth/register', { json: { email: email(), password: 'correct horse', name: 'Pat', tenant_id: tenant } })).body;
    const created = await api(server, 'POST', '/api/parley/invites', { token: admin.token, json: { ttl_seconds: 3600 } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ code: expect.stringMatching(/^inv_/), tenant_id: tenant, status: 'active' });
    const list = await api(server, 'GET', '/api/parley/invites', { token: admin.token });
    expect(list.body).toEqual([expect.objectContaining({ id: created.body.id, status: 'active' })]);
    const reg = await api(server, 'POST', '/api/parley/auth/register', { json: { email: email(), password: 'correct horse', name: 'Quinn', invite: created.body.code } });
    expect(reg.status).toBe(201);
    const other = await api(server, 'POST', '/api/parley/invites', { token: admin.token, json: {} });
    expect((await api(server, 'DELETE', `/api/parley/invites/${other.body.id}`, { token: admin.token })).status).toBe(204);
    const refused = await api(server, 'POST', '/api/parley/auth/register', { json: { email: email(), password: 'correct horse', name: 'Rey', invite: other.body.code } });
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ ...BAD_INVITE, code: 'invite_invalid' });
  });
});

describe('the first user of the default tenant is its admin', () => {
  it('on a fresh server the first registrant may invite, the second may not', async (t) => {
    const server = await startParley(t, { env: { REGISTRATION: '' } });
    const first = await registered(server);
    const second = await registered(server);
    expect((await createInvite(server, first)).status).toBe(201);
    expect((await createInvite(server, second)).status).toBe(403);
  });
});

describe('REGISTRATION=invite and closed', () => {
  let invite: TestServer;
  let closed: TestServer;
  beforeAll(async () => {
    [invite, closed] = await Promise.all([startParley({ env: { REGISTRATION: 'invite' } }), startParley({ env: { REGISTRATION: 'closed' } })]);
  });
  afterAll(async () => {
    await invite.close();
    await closed.close();
  });

  it('invite: nobody without an invite (not even into the default tenant or a new one); an invite admits', async () => {
    for (const body of [{}, { tenant_id: randomUUID() }]) {
      const r = await register(invite, body);
      expect(r.status).toBe(403);
      expect(r.body).toEqual(NEEDS_INVITE);
    }
    // The operator's invite (the CLI's code path) into a new tenant: its first user is its admin.
    const issued = await invite.parley.core.invites.createForTenant(randomUUID());
    const first = await registered(invite, { invite: issued.code });
    expect(first.user.tenant_id).toBe(issued.invite.tenantUuid);
    const next = await createInvite(invite, first);
    expect(next.status).toBe(201);
    expect((await register(invite, { invite: next.body.code })).status).toBe(201);
  });

  it('closed: nobody, invite or not', async () => {
    const issued = await closed.parley.core.invites.createForTenant(undefined);
    for (const body of [{}, { tenant_id: randomUUID() }, { invite: issued.code }]) {
      const r = await register(closed, body);
      expect(r.status).toBe(403);
      expect(r.body).toEqual({ detail: 'Registration is closed' });
    }
  });
});

describe('REGISTRATION=open warns at start', () => {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  async function startLog(env: Record<string, string>): Promise<string> {
    const dir = mkdtempSync(path.join(tmpdir(), 'parley-reg-'));
    dirs.push(dir);
    let log = '';
    const stream = new Writable({
      write(chunk, _enc, done) {
        log += chunk.toString();
        done();
      },
    });
    const config = loadConfig({ DATA_DIR: dir, PORT: '0', HOST: '127.0.0.1', JWT_SECRET: 'test-secret-that-is-long-enough-for-hs256', LOG_LEVEL: 'warn', ...env });
    const parley = await createParley(config, { logger: { level: 'warn', stream } });
    await parley.close();
    return log;
  }

  it('open: a warning naming REGISTRATION=open; the default: none', async () => {
    expect(await startLog({ REGISTRATION: 'open' })).toMatch(/"level":40.*REGISTRATION=open: anyone may register into any tenant/);
    expect(await startLog({})).not.toMatch(/REGISTRATION/);
  });
});
